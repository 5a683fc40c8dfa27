// ProduceTelemetry: another team's Java producer for ferry. Reads ferry's schema file, builds
// TelemetryReading GenericRecords, encodes each with Avro's own single-object encoder
// (C3 01 + CRC-64-AVRO fingerprint + body) and sends them with the plain Kafka client, key =
// ship_id. Writes what it sent as "ship|channel|ts_us|kind|value|unit" lines to EXPECTED.
// usage: java -cp ... ProduceTelemetry SCHEMA.avsc BROKERS TOPIC EXPECTED [TICKS]
import java.io.File;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

public final class ProduceTelemetry {
    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: ProduceTelemetry SCHEMA.avsc BROKERS TOPIC EXPECTED [TICKS]");
            System.exit(2);
        }
        Schema schema = new Schema.Parser().parse(new File(args[0]));
        int ticks = args.length > 4 ? Integer.parseInt(args[4]) : 20;
        BinaryMessageEncoder<GenericRecord> enc = new BinaryMessageEncoder<>(GenericData.get(), schema);
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        String[] ships = {"IMO9700001", "IMO9700002"};
        String[] channels = {"engine.temp", "engine.rpm", "alarm.fire", "nav.status", "sensor.gap"};
        long t0 = 1767225600000000L; // 2026-01-01T00:00:00Z in microseconds
        int sent = 0;
        try (KafkaProducer<byte[], byte[]> prod = new KafkaProducer<>(p);
             PrintWriter out = new PrintWriter(args[3], StandardCharsets.UTF_8)) {
            for (int t = 0; t < ticks; t++) {
                for (String ship : ships) {
                    for (int c = 0; c < channels.length; c++) {
                        long ts = t0 + t * 1_000_000L + c; // distinct per channel
                        Object value; String kind, text, unit;
                        switch (c) {
                            case 0: value = 60.25 + t * 0.5; kind = "d"; text = value.toString(); unit = "°C"; break;
                            case 1: value = 800L + t; kind = "l"; text = value.toString(); unit = "rpm"; break;
                            case 2: value = (t % 3 == 0); kind = "b"; text = value.toString(); unit = null; break;
                            case 3: value = "under way, tick " + t; kind = "s"; text = (String) value; unit = null; break;
                            default: value = null; kind = "n"; text = ""; unit = null; break;
                        }
                        GenericRecord r = new GenericData.Record(schema);
                        r.put("ship_id", ship);
                        r.put("channel_id", channels[c]);
                        r.put("timestamp", ts);
                        r.put("value", value);
                        r.put("unit", unit);
                        r.put("source", t % 2 == 0 ? "java-example" : null);
                        ByteBuffer buf = enc.encode(r);
                        byte[] bytes = new byte[buf.remaining()];
                        buf.get(bytes);
                        prod.send(new ProducerRecord<>(args[2], ship.getBytes(StandardCharsets.UTF_8), bytes)).get();
                        out.println(ship + "|" + channels[c] + "|" + ts + "|" + kind + "|" + text + "|" + (unit == null ? "" : unit));
                        sent++;
                    }
                }
            }
            prod.flush();
        }
        System.out.println("sent " + sent);
    }
}
