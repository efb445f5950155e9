/*
 * formats._accel -- the CPython binding of imgtool's C core (argument parsing, buffers,
 * the GIL; no arithmetic).  The engines are plain C files without Python.h:
 *   - crc_engine.c/.h   the CRC engine (tables, CPU-dispatched tiers, combine, repeat)
 *   - pe_checksum.c/.h  the PE/COFF image checksum
 *   - reloc_walk.c/.h   the ELF relocation walker (bound in _accel_reloc.c)
 *   - pclntab_walk.c/.h the Go pclntab function-table walk (bound in _accel_pcln.c)
 *
 * Python interface:
 *   - pe_checksum(data, checksum_offset) -> int
 *       PE/COFF image checksum (imagehlp CheckSumMappedFile).
 *   - CrcEngine(width, poly, init, refin, refout, xorout, tier='auto')
 *       a CRC engine for one Rocksoft/Williams model with compute / compute_blocks /
 *       combine / repeat; tiers bitwise, slice16, clmul (PCLMULQDQ), vpclmul (AVX-512).
 *   - cpu_tiers() -> list of the tiers this CPU supports.
 *   - apply_relocs(...): ELF dynamic relocations applied to an image (_accel_reloc.c).
 *   - pcln_decode(...), pcln_charge(...): the pclntab walk (_accel_pcln.c).
 *
 * Every function here has a pure-Python twin (formats/checksum.py, formats/_crc_py.py)
 * giving identical results; the Python modules decide which one runs.
 *
 * Input is taken zero-copy through the buffer protocol (PyBUF_SIMPLE: bytes, bytearray,
 * memoryview, mmap, array('B')); str is rejected.  Large inputs are processed with the
 * GIL released.  Mutating a buffer from another thread while it is being read gives an
 * undefined (but memory-safe) result, as with hashlib.
 */
#include "_accel.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "crc_engine.h"
#include "pe_checksum.h"

/* Declared in _accel.h: a C-contiguous byte view of obj; str is refused with a TypeError. */
int accel_bytes_view(PyObject *obj, Py_buffer *view, const char *what)
{
    if (PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s: strings are not accepted, pass bytes "
                     "(e.g. s.encode())", what);
        return -1;
    }
    if (PyObject_GetBuffer(obj, view, PyBUF_SIMPLE) < 0)
        return -1;
    return 0;
}

/* Check a (data, n) call: exactly 2 arguments (else TypeError `usage`) and args[1] an
 * index into *n.  Returns 0, or -1 with an exception set. */
static int parse_data_and_index(PyObject *const *args, Py_ssize_t nargs, const char *usage, Py_ssize_t *n)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, usage);
        return -1;
    }
    *n = PyLong_AsSsize_t(args[1]);
    return *n == -1 && PyErr_Occurred() ? -1 : 0;
}

/* ------------------------------------------------------------------------------------ */
/* PE/COFF image checksum                                                               */
/* ------------------------------------------------------------------------------------ */

PyDoc_STRVAR(pe_checksum_doc,
"pe_checksum(data, checksum_offset, /) -> int\n\n"
"PE/COFF image checksum (imagehlp CheckSumMappedFile) of the bytes-like `data`, with the\n"
"4-byte CheckSum field at `checksum_offset` taken as zero.  Raises ValueError when the\n"
"field does not fit in the data.");

static PyObject *py_pe_checksum(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    Py_ssize_t off;
    uint32_t r;
    (void)mod;

    if (parse_data_and_index(args, nargs, "pe_checksum() takes exactly 2 arguments", &off) < 0)
        return NULL;
    if (accel_bytes_view(args[0], &view, "pe_checksum") < 0)
        return NULL;
    if (off < 0 || off > view.len - 4) {
        PyErr_Format(PyExc_ValueError, "CheckSum field at offset %zd does not fit in a "
                     "%zd-byte image", off, view.len);
        PyBuffer_Release(&view);
        return NULL;
    }
    ACCEL_MAYBE_WITHOUT_GIL(view.len, r = pe_checksum(view.buf, (size_t)view.len, (size_t)off));
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(r);
}

/* ------------------------------------------------------------------------------------ */
/* CRC engine (crc_engine.h) as the Python type CrcEngine                               */
/* ------------------------------------------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    crc_engine e;
} CrcEngineObject;

static int parse_u64(PyObject *o, uint64_t *out, const char *name)
{
    unsigned long long v;
    if (!PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", name, Py_TYPE(o)->tp_name);
        return -1;
    }
    v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s must be an unsigned integer below 2**64", name);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* Parse a CRC value argument and check that it fits in the model's width. */
static int parse_value(const crc_engine *e, PyObject *o, uint64_t *out, const char *name)
{
    if (parse_u64(o, out, name) < 0)
        return -1;
    if (*out & ~e->mask) {
        char hex[24];
        snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)*out);
        PyErr_Format(PyExc_ValueError, "%s %s does not fit in a %d-bit CRC", name, hex, e->width);
        return -1;
    }
    return 0;
}

/* The start register: the model's init, or resumed from args[i] when given and not None. */
static int parse_start(const crc_engine *e, PyObject *const *args, Py_ssize_t nargs, Py_ssize_t i,
                       uint64_t *reg)
{
    uint64_t v;
    if (nargs > i && args[i] != Py_None) {
        if (parse_value(e, args[i], &v, "value") < 0)
            return -1;
        *reg = crc_engine_resume(e, v);
    } else {
        *reg = crc_engine_start(e);
    }
    return 0;
}

static PyObject *engine_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"width", "poly", "init", "refin", "refout", "xorout", "tier", NULL};
    int width, refin, refout, t;
    PyObject *opoly, *oinit, *oxorout;
    const char *tier = "auto";
    uint64_t poly, init, xorout;
    CrcEngineObject *self;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iOOppO|s:CrcEngine", kwlist, &width, &opoly,
                                     &oinit, &refin, &refout, &oxorout, &tier))
        return NULL;
    if (parse_u64(opoly, &poly, "poly") < 0 || parse_u64(oinit, &init, "init") < 0 ||
        parse_u64(oxorout, &xorout, "xorout") < 0)
        return NULL;
    t = strcmp(tier, "auto") == 0 ? crc_best_tier() : crc_tier_by_name(tier);
    self = (CrcEngineObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    switch (crc_engine_init(&self->e, width, poly, init, refin, refout, xorout, t)) {
    case CRC_OK:
        return (PyObject *)self;
    case CRC_BAD_WIDTH:
        PyErr_Format(PyExc_ValueError, "CRC width must be 1..64, got %d", width);
        break;
    case CRC_BAD_PARAM:
        PyErr_Format(PyExc_ValueError, "poly, init and xorout must fit in %d bits", width);
        break;
    case CRC_TIER_UNSUPPORTED:
        if (t < 0)
            PyErr_Format(PyExc_ValueError, "unknown CRC tier '%s' (expected auto, bitwise, "
                         "slice16, clmul or vpclmul)", tier);
        else
            PyErr_Format(PyExc_ValueError, "CRC tier '%s' is not supported by this CPU", tier);
        break;
    }
    Py_DECREF(self);
    return NULL;
}

/* compute(data, value=None, /): CRC value of data, continuing from a previous value. */
static PyObject *engine_compute(CrcEngineObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    const crc_engine *e = &self->e;
    Py_buffer view;
    uint64_t reg;

    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "compute() takes 1 or 2 positional arguments (data, value=None)");
        return NULL;
    }
    if (parse_start(e, args, nargs, 1, &reg) < 0)
        return NULL;
    if (accel_bytes_view(args[0], &view, "CRC") < 0)
        return NULL;
    ACCEL_MAYBE_WITHOUT_GIL(view.len, reg = crc_engine_update(e, reg, view.buf, (size_t)view.len));
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(crc_engine_final(e, reg));
}

/* compute_blocks(data, block_size, /): list of the CRCs of consecutive blocks. */
static PyObject *engine_compute_blocks(CrcEngineObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    Py_ssize_t bs, nblocks, i;
    uint64_t *vals;
    PyObject *list = NULL;

    if (parse_data_and_index(args, nargs, "compute_blocks() takes 2 positional arguments (data, block_size)",
                             &bs) < 0)
        return NULL;
    if (bs <= 0) {
        PyErr_Format(PyExc_ValueError, "block_size must be positive, got %zd", bs);
        return NULL;
    }
    if (accel_bytes_view(args[0], &view, "CRC") < 0)
        return NULL;
    nblocks = view.len / bs + (view.len % bs != 0);
    vals = PyMem_Malloc(sizeof(uint64_t) * (size_t)(nblocks ? nblocks : 1));
    if (vals == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    crc_engine_compute_blocks(&self->e, view.buf, (size_t)view.len, (size_t)bs, vals);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    list = PyList_New(nblocks);
    if (list != NULL) {
        for (i = 0; i < nblocks; i++) {
            PyObject *o = PyLong_FromUnsignedLongLong(vals[i]);
            if (o == NULL) {
                Py_CLEAR(list);
                break;
            }
            PyList_SET_ITEM(list, i, o);
        }
    }
    PyMem_Free(vals);
    return list;
}

/* combine(crc1, crc2, len2, /): CRC of A+B from CRC(A), CRC(B) and len(B). */
static PyObject *engine_combine(CrcEngineObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    const crc_engine *e = &self->e;
    uint64_t c1, c2, len2;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "combine() takes 3 positional arguments (crc1, crc2, len2)");
        return NULL;
    }
    if (parse_value(e, args[0], &c1, "crc1") < 0 || parse_value(e, args[1], &c2, "crc2") < 0 ||
        parse_u64(args[2], &len2, "len2") < 0)
        return NULL;
    return PyLong_FromUnsignedLongLong(crc_engine_combine(e, c1, c2, len2));
}

/* repeat(byte, count, value=None, /): CRC after `count` copies of `byte`. */
static PyObject *engine_repeat(CrcEngineObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    const crc_engine *e = &self->e;
    uint64_t byte, count, reg;
    if (nargs < 2 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "repeat() takes 2 or 3 positional arguments (byte, count, value=None)");
        return NULL;
    }
    if (parse_u64(args[0], &byte, "byte") < 0 || parse_u64(args[1], &count, "count") < 0)
        return NULL;
    if (byte > 255) {
        PyErr_SetString(PyExc_ValueError, "byte must be in range 0..255");
        return NULL;
    }
    if (parse_start(e, args, nargs, 2, &reg) < 0)
        return NULL;
    reg = crc_engine_update_repeat(e, reg, (unsigned char)byte, count);
    return PyLong_FromUnsignedLongLong(crc_engine_final(e, reg));
}

static PyObject *engine_get_tier(CrcEngineObject *self, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(crc_tier_name(self->e.tier));
}

static PyObject *engine_get_params(CrcEngineObject *self, void *closure)
{
    const crc_engine *e = &self->e;
    (void)closure;
    return Py_BuildValue("(iKKOOK)", e->width, (unsigned long long)e->poly,
                         (unsigned long long)e->init, e->refin ? Py_True : Py_False,
                         e->refout ? Py_True : Py_False, (unsigned long long)e->xorout);
}

static PyMethodDef engine_methods[] = {
    {"compute", (PyCFunction)(void (*)(void))engine_compute, METH_FASTCALL,
     "compute(data, value=None, /) -> int\n\nCRC of the bytes-like data; with `value`, "
     "continue from that earlier CRC value."},
    {"compute_blocks", (PyCFunction)(void (*)(void))engine_compute_blocks, METH_FASTCALL,
     "compute_blocks(data, block_size, /) -> list[int]\n\nCRC of each consecutive block "
     "(the last one may be shorter)."},
    {"combine", (PyCFunction)(void (*)(void))engine_combine, METH_FASTCALL,
     "combine(crc1, crc2, len2, /) -> int\n\nCRC of A+B given CRC(A), CRC(B) and len(B)."},
    {"repeat", (PyCFunction)(void (*)(void))engine_repeat, METH_FASTCALL,
     "repeat(byte, count, value=None, /) -> int\n\nCRC of `count` copies of `byte`, "
     "optionally continuing from `value`, in O(log count)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef engine_getset[] = {
    {"tier", (getter)engine_get_tier, NULL, "the implementation tier in use", NULL},
    {"params", (getter)engine_get_params, NULL, "(width, poly, init, refin, refout, xorout)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject CrcEngineType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "formats._accel.CrcEngine",
    .tp_basicsize = sizeof(CrcEngineObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "CrcEngine(width, poly, init, refin, refout, xorout, tier='auto')\n\n"
              "A CRC engine for one Rocksoft/Williams model (width 1..64).  tier is one of "
              "auto, bitwise, slice16, clmul, vpclmul.",
    .tp_new = engine_new,
    .tp_methods = engine_methods,
    .tp_getset = engine_getset,
};

static PyObject *py_cpu_tiers(PyObject *mod, PyObject *unused)
{
    PyObject *l = PyList_New(0);
    int t;
    (void)mod;
    (void)unused;
    if (l == NULL)
        return NULL;
    for (t = 0; t < CRC_TIER_COUNT; t++) {
        if (crc_tier_supported(t)) {
            PyObject *s = PyUnicode_FromString(crc_tier_name(t));
            if (s == NULL || PyList_Append(l, s) < 0) {
                Py_XDECREF(s);
                Py_DECREF(l);
                return NULL;
            }
            Py_DECREF(s);
        }
    }
    return l;
}

/* ------------------------------------------------------------------------------------ */
/* Module                                                                               */
/* ------------------------------------------------------------------------------------ */

static PyMethodDef accel_methods[] = {
    {"pe_checksum", (PyCFunction)(void (*)(void))py_pe_checksum, METH_FASTCALL, pe_checksum_doc},
    {"apply_relocs", (PyCFunction)(void (*)(void))accel_apply_relocs, METH_FASTCALL, accel_apply_relocs_doc},
    {"pcln_decode", (PyCFunction)(void (*)(void))accel_pcln_decode, METH_FASTCALL, accel_pcln_decode_doc},
    {"pcln_charge", (PyCFunction)(void (*)(void))accel_pcln_charge, METH_FASTCALL, accel_pcln_charge_doc},
    {"elf_symbols", (PyCFunction)(void (*)(void))accel_elf_symbols, METH_FASTCALL, accel_elf_symbols_doc},
    {"go_packages", (PyCFunction)(void (*)(void))accel_go_packages, METH_FASTCALL, accel_go_packages_doc},
    {"cpu_tiers", py_cpu_tiers, METH_NOARGS,
     "cpu_tiers() -> list[str]\n\nCRC tiers this CPU can run, slowest first."},
    {NULL, NULL, 0, NULL},
};

static int accel_exec(PyObject *m)
{
    if (PyType_Ready(&CrcEngineType) < 0)
        return -1;
    Py_INCREF(&CrcEngineType);
    if (PyModule_AddObject(m, "CrcEngine", (PyObject *)&CrcEngineType) < 0) {
        Py_DECREF(&CrcEngineType);
        return -1;
    }
    return 0;
}

static PyModuleDef_Slot accel_slots[] = {
    {Py_mod_exec, accel_exec},
#ifdef Py_mod_multiple_interpreters
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_mod_gil
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef accel_module = {
    PyModuleDef_HEAD_INIT,
    "formats._accel",
    "C core of imgtool's formats layer: CRC engine, image checksums, relocations, pclntab walk, ELF symbols, Go package names.",
    0,
    accel_methods,
    accel_slots,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__accel(void)
{
    return PyModuleDef_Init(&accel_module);
}
