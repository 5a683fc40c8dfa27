/* avro_value.c - releasing an Avro value (see include/ferry/avro_value.h). */
#include "ferry/avro_value.h"

void ferry_avro_value_free(avro_value_t *v)
{
    if (!v || !v->iface)
        return;
    avro_value_decref(v);
    v->iface = NULL;
    v->self = NULL;
}
