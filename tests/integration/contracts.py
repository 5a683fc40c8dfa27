"""contracts.py - the other team's side of ferry's data contracts, written with clients nobody
here wrote: confluent-kafka (SerializingProducer, SchemaRegistryClient, AvroSerializer,
AvroDeserializer) and fastavro. Used by tests/integration/05NN-contracts-*.sh, run in the venv
that contracts_lib.sh makes. It is also the example of docs/contracts.md.

  produce   TelemetryReading records through the registry with a given schema file; writes
            every reading it sent to --expected as "ship|channel|ts_us|kind|value|unit"
            (kind: d double, l long, b boolean, s string, n null), the test's oracle
  send-raw  sends records that produce --raw-out serialized earlier, without the registry
  produce-records
            any schema's records through the registry: one JSON object per line of --file
            (plain JSON: a union holds just its value), keyed by --key, each with the fields
            of --extra (JSON) added, serialized with --schema by AvroSerializer
  read      reads --count records and prints each value as one sorted-keys JSON line:
            --framing registry with confluent-kafka's AvroDeserializer (schema by id from the
            registry), --framing single-object with fastavro alone (header C3 01 and the
            CRC-64-AVRO fingerprint that fastavro computes itself from --schema)
"""
import argparse
import datetime
import io
import json
import sys

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form
from confluent_kafka import Consumer, Producer, SerializingProducer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer


def reading(schema_fields, ship, channel, tick, t0_us):
    """One reading; the value's union branch is chosen explicitly (fastavro's tuple form),
    else Python's int would be written to the union's first numeric branch, double."""
    ts = t0_us + tick * 1_000_000
    kind = channel % 5
    if kind == 0:
        value, text = tick + ship * 100 + 0.5, "d|%r" % (tick + ship * 100 + 0.5)
        wire = ("double", value)
    elif kind == 1:
        value = tick * 7 - ship
        text, wire = "l|%d" % value, ("long", value)
    elif kind == 2:
        value = tick % 2 == 0
        text, wire = "b|%s" % ("true" if value else "false"), ("boolean", value)
    elif kind == 3:
        value = "s%d-é" % tick
        text, wire = "s|" + value, ("string", value)
    else:
        text, wire = "n|", None
    unit = "kn" if kind == 0 else None
    rec = {"ship_id": "PY%d" % ship, "channel_id": "ch%d" % channel, "timestamp": ts,
           "value": wire, "unit": unit}
    if "source" in schema_fields:
        rec["source"] = "python"
    if "quality" in schema_fields:
        rec["quality"] = tick % 3
    line = "%s|%s|%d|%s|%s" % (rec["ship_id"], rec["channel_id"], ts, text, unit or "")
    return rec, line


def produce(a):
    schema_str = open(a.schema).read()
    fields = {f["name"] for f in json.loads(schema_str)["fields"]}
    so = None
    if a.single_object:  # C3 01, the fingerprint fastavro computes, the body: no registry
        if not a.raw_out:
            sys.exit("--single-object needs --raw-out (then send-raw)")
        parsed = fastavro.parse_schema(json.loads(schema_str))
        fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
        so = (parsed, b"\xc3\x01" + fp)
        ser = p = None
    else:
        sr = SchemaRegistryClient({"url": a.registry})
        ser = AvroSerializer(sr, schema_str, conf={"auto.register.schemas": True})
        p = SerializingProducer({"bootstrap.servers": a.brokers,
                                 "key.serializer": StringSerializer(),
                                 "value.serializer": ser, "enable.idempotence": True})
    raw = open(a.raw_out, "w") if a.raw_out else None
    failed = []
    n = 0
    with open(a.expected, "a") as out:
        for tick in range(a.tick0, a.tick0 + a.ticks):
            for ship in range(1, a.ships + 1):
                for ch in range(a.channels):
                    rec, line = reading(fields, ship, ch, tick, a.t0_us)
                    if raw and so:  # single-object, by fastavro alone
                        body = io.BytesIO()
                        fastavro.schemaless_writer(body, so[0], rec)
                        raw.write("%s\t%s\n" % (rec["ship_id"], (so[1] + body.getvalue()).hex()))
                    elif raw:  # serialized now (the schema registered), sent later by send-raw
                        ctx = SerializationContext(a.topic, MessageField.VALUE)
                        raw.write("%s\t%s\n" % (rec["ship_id"], ser(rec, ctx).hex()))
                    else:
                        p.produce(a.topic, key=rec["ship_id"], value=rec,
                                  on_delivery=lambda err, msg: err and failed.append(err))
                    out.write(line + "\n")
                    n += 1
                if p:
                    p.poll(0)
    if p:
        p.flush(60)
    if raw:
        raw.close()
    if failed:
        sys.exit("delivery failed: %s" % failed[0])
    print("produced %d readings with %s" % (n, a.schema), file=sys.stderr)


EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def plain(v):
    """timestamp-micros fields come back as datetimes: as the microseconds on the wire."""
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, datetime.datetime):
        return (v - EPOCH) // datetime.timedelta(microseconds=1)
    return v


def read(a):
    c = Consumer({"bootstrap.servers": a.brokers, "group.id": a.group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([a.topic])
    if a.framing == "registry":
        de = AvroDeserializer(SchemaRegistryClient({"url": a.registry}))
    else:
        parsed = fastavro.parse_schema(json.load(open(a.schema)))
        fp = bytes.fromhex(fingerprint(to_parsing_canonical_form(parsed), "CRC-64-AVRO"))
    got = []
    idle = 0
    while len(got) < a.count and idle < 30:
        m = c.poll(1.0)
        if m is None:
            idle += 1
            continue
        if m.error():
            sys.exit("consumer error: %s" % m.error())
        idle = 0
        raw = m.value()
        if a.framing == "registry":
            v = de(raw, SerializationContext(a.topic, MessageField.VALUE))
        else:
            if raw[:2] != b"\xc3\x01" or raw[2:10] != fp:
                sys.exit("not single-object with fastavro's fingerprint: %r" % raw[:10])
            body = io.BytesIO(raw[10:])
            v = fastavro.schemaless_reader(body, parsed)
            if body.read():
                sys.exit("trailing bytes after the Avro body")
        got.append(json.dumps(plain(v), sort_keys=True, ensure_ascii=False))
    c.close()
    for line in sorted(got):
        print(line)


def send_raw(a):
    """Sends what produce --raw-out serialized, byte for byte, without asking the registry."""
    p = Producer({"bootstrap.servers": a.brokers, "enable.idempotence": True})
    failed = []
    for line in open(a.file):
        key, value = line.rstrip("\n").split("\t")
        p.produce(a.topic, key=key, value=bytes.fromhex(value),
                  on_delivery=lambda err, msg: err and failed.append(err))
        p.poll(0)
    p.flush(60)
    if failed:
        sys.exit("delivery failed: %s" % failed[0])


def produce_records(a):
    schema_str = open(a.schema).read()
    sr = SchemaRegistryClient({"url": a.registry})
    ser = AvroSerializer(sr, schema_str, conf={"auto.register.schemas": True})
    p = SerializingProducer({"bootstrap.servers": a.brokers, "key.serializer": StringSerializer(),
                             "value.serializer": ser, "enable.idempotence": True})
    extra = json.loads(a.extra) if a.extra else {}
    failed = []
    n = 0
    for line in open(a.file):
        rec = json.loads(line)
        rec.update(extra)
        p.produce(a.topic, key=str(rec[a.key]), value=rec,
                  on_delivery=lambda err, msg: err and failed.append(err))
        p.poll(0)
        n += 1
    p.flush(60)
    if failed:
        sys.exit("delivery failed: %s" % failed[0])
    print("produced %d records with %s" % (n, a.schema), file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("produce")
    p.add_argument("--brokers", required=True)
    p.add_argument("--registry")
    p.add_argument("--topic", required=True)
    p.add_argument("--schema", required=True)
    p.add_argument("--expected", required=True)
    p.add_argument("--ships", type=int, default=3)
    p.add_argument("--channels", type=int, default=5)
    p.add_argument("--ticks", type=int, default=20)
    p.add_argument("--tick0", type=int, default=0)
    p.add_argument("--t0-us", type=int, default=1767225600000000)
    p.add_argument("--raw-out", help="serialize to this file instead of producing")
    p.add_argument("--single-object", action="store_true",
                   help="with --raw-out: Avro single-object encoding by fastavro, no registry")
    sr = sub.add_parser("send-raw")
    sr.add_argument("--brokers", required=True)
    sr.add_argument("--topic", required=True)
    sr.add_argument("--file", required=True)
    pr = sub.add_parser("produce-records")
    pr.add_argument("--brokers", required=True)
    pr.add_argument("--registry", required=True)
    pr.add_argument("--topic", required=True)
    pr.add_argument("--schema", required=True)
    pr.add_argument("--file", required=True)
    pr.add_argument("--key", required=True)
    pr.add_argument("--extra")
    r = sub.add_parser("read")
    r.add_argument("--brokers", required=True)
    r.add_argument("--registry")
    r.add_argument("--topic", required=True)
    r.add_argument("--group", required=True)
    r.add_argument("--framing", choices=["registry", "single-object"], required=True)
    r.add_argument("--schema")
    r.add_argument("--count", type=int, required=True)
    a = ap.parse_args()
    {"produce": produce, "read": read, "send-raw": send_raw,
     "produce-records": produce_records}[a.cmd](a)


if __name__ == "__main__":
    main()
