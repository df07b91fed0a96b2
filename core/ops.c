/* Names of the wrapped operations (see ops.h). */
#include "ops.h"

static const char *const ct_op_names[CT_OP_COUNT] = {
#define CT_OP_NAME(id, name) name,
	CT_OPS(CT_OP_NAME)
#undef CT_OP_NAME
};

const char *
ct_op_name(unsigned op)
{
	return op < CT_OP_COUNT ? ct_op_names[op] : "[unknown]";
}
