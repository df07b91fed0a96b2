/* Names and classes of the wrapped operations (see ops.h). */
#include "compiler.h"
#include "ops.h"

#define CT_OP_LEAF_NAME(id, fn) #fn,
#define CT_OP_NAME(id, name) name,
CT_NAME_LOOKUP(ct_op_name, CT_OP_COUNT, "[unknown]", CT_OPS(CT_OP_LEAF_NAME, CT_OP_NAME))
#undef CT_OP_NAME
#undef CT_OP_LEAF_NAME

enum ct_op_class
ct_op_class(unsigned op)
{
	switch (op) {
#define CT_OP_CASE(id, fn) case CT_OP_##id:
	CT_IO_OPS(CT_OP_CASE)
		return CT_CLASS_IO;
	CT_SLEEP_OPS(CT_OP_CASE)
		return CT_CLASS_SLEEP;
#undef CT_OP_CASE
	case CT_OP_TABLE_FULL:
		return CT_CLASS_NONE;
	default:
		return op < CT_OP_COUNT ? CT_CLASS_SYNC : CT_CLASS_NONE;
	}
}

const char *
ct_op_class_name(unsigned op)
{
	switch (ct_op_class(op)) {
	case CT_CLASS_SYNC:
		return "sync";
	case CT_CLASS_IO:
		return "io";
	case CT_CLASS_SLEEP:
		return "sleep";
	default:
		return "";
	}
}
