/*
 * formats._accel: ELF symbol-table records to formats.elf.Symbol tuples.
 *
 *   elf_symbols(raw, strtab, elfclass, big, arm, symbol_type) -> (symbols, bad)
 *
 * Decodes every Elf32_Sym / Elf64_Sym record of `raw` (System V gABI, "Symbol Table")
 * as formats.elf.decode_symbols does (its pure-Python twin, identical tuples): the name
 * from `strtab` (UTF-8, undecodable bytes replaced), the value with the Thumb bit masked
 * off for an ARM FUNC (ARM ELF ABI 5.5.3), the readelf name of STT.  `bad` is -1, or the
 * index of the first record whose name offset is outside `strtab` (the symbols before
 * it are returned; the caller raises).
 */
#include "_accel.h"

#include <stdint.h>
#include <string.h>

const char accel_elf_symbols_doc[] =
"elf_symbols(raw, strtab, elfclass, big, arm, symbol_type, /) -> (symbols, bad)\n\n"
"Decode the Elf32_Sym (elfclass 32) or Elf64_Sym (64) records of `raw` (a whole number\n"
"of them; `big`: big-endian) into `symbol_type` tuples (name, value, size, type, bind,\n"
"shndx, thumb), names from `strtab`; `arm`: mask the Thumb bit of FUNC values.  `bad`:\n"
"-1, or the index of the first record whose name offset is outside `strtab`.";

/* readelf's STT names (formats.elf._STT); other values are their decimal number */
static const char *const stt_names[16] = {"NOTYPE", "OBJECT", "FUNC", "SECTION", "FILE", "COMMON", "TLS", NULL,
                                          NULL, NULL, "IFUNC", NULL, NULL, NULL, NULL, NULL};
#define STT_FUNC 2

static uint64_t load(const unsigned char *p, int n, int big)
{
    uint64_t v = 0;
    int i;
    for (i = 0; i < n; i++)
        v = big ? (v << 8) | p[i] : v | ((uint64_t)p[i] << (8 * i));
    return v;
}

PyObject *accel_elf_symbols(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer raw, strtab;
    PyObject *types[16] = {NULL}, *out = NULL, *result = NULL, *symbol_type, *sym = NULL;
    long elfclass;
    int big, arm, i;
    Py_ssize_t rec, n, k, bad = -1;
    (void)mod;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "elf_symbols() takes 6 arguments");
        return NULL;
    }
    elfclass = PyLong_AsLong(args[2]);
    if (elfclass == -1 && PyErr_Occurred())
        return NULL;
    if (elfclass != 32 && elfclass != 64) {
        PyErr_SetString(PyExc_ValueError, "elf_symbols(): elfclass must be 32 or 64");
        return NULL;
    }
    big = PyObject_IsTrue(args[3]);
    arm = PyObject_IsTrue(args[4]);
    if (big < 0 || arm < 0)
        return NULL;
    symbol_type = args[5];
    if (!PyType_Check(symbol_type) || !PyType_IsSubtype((PyTypeObject *)symbol_type, &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "elf_symbols(): symbol_type must be a tuple subclass");
        return NULL;
    }
    if (accel_bytes_view(args[0], &raw, "elf_symbols raw") < 0)
        return NULL;
    if (accel_bytes_view(args[1], &strtab, "elf_symbols strtab") < 0) {
        PyBuffer_Release(&raw);
        return NULL;
    }
    rec = elfclass == 64 ? 24 : 16;
    if (raw.len % rec) {
        PyErr_Format(PyExc_ValueError, "elf_symbols(): %zd bytes are not a whole number of %zd-byte records",
                     raw.len, rec);
        goto done;
    }
    for (i = 0; i < 16; i++) {
        types[i] = stt_names[i] ? PyUnicode_FromString(stt_names[i]) : PyUnicode_FromFormat("%d", i);
        if (types[i] == NULL)
            goto done;
    }
    n = raw.len / rec;
    out = PyList_New(0);
    if (out == NULL)
        goto done;
    for (k = 0; k < n; k++) {
        const unsigned char *p = (const unsigned char *)raw.buf + k * rec;
        const char *names = (const char *)strtab.buf;
        uint64_t name_off, value, size;
        unsigned info, shndx;
        PyObject *name, *item;
        int stt, thumb;
        if (elfclass == 64) { /* st_name, st_info, st_other, st_shndx, st_value, st_size */
            name_off = load(p, 4, big);
            info = p[4];
            shndx = (unsigned)load(p + 6, 2, big);
            value = load(p + 8, 8, big);
            size = load(p + 16, 8, big);
        } else { /* st_name, st_value, st_size, st_info, st_other, st_shndx */
            name_off = load(p, 4, big);
            value = load(p + 4, 4, big);
            size = load(p + 8, 4, big);
            info = p[12];
            shndx = (unsigned)load(p + 14, 2, big);
        }
        if (name_off >= (uint64_t)strtab.len && name_off) {
            bad = k;
            break;
        }
        if (name_off >= (uint64_t)strtab.len) {
            name = PyUnicode_FromStringAndSize("", 0);
        } else {
            const char *s = names + name_off;
            const char *end = memchr(s, 0, (size_t)(strtab.len - (Py_ssize_t)name_off));
            Py_ssize_t len = end ? end - s : strtab.len - (Py_ssize_t)name_off;
            name = PyUnicode_DecodeUTF8(s, len, "replace");
        }
        if (name == NULL)
            goto fail;
        stt = (int)(info & 0xF);
        thumb = arm && stt == STT_FUNC && (value & 1);
        /* a tuple of the subclass, filled in place (what tuple.__new__(symbol_type, ...)
         * does, without the argument tuple); a partly filled one is freed safely */
        sym = ((PyTypeObject *)symbol_type)->tp_alloc((PyTypeObject *)symbol_type, 7);
        if (sym == NULL) {
            Py_DECREF(name);
            goto fail;
        }
        PyTuple_SET_ITEM(sym, 0, name);
        Py_INCREF(types[stt]);
        PyTuple_SET_ITEM(sym, 3, types[stt]);
        Py_INCREF(thumb ? Py_True : Py_False);
        PyTuple_SET_ITEM(sym, 6, thumb ? Py_True : Py_False);
        if ((item = PyLong_FromUnsignedLongLong(thumb ? value & ~(uint64_t)1 : value)) == NULL)
            goto fail_sym;
        PyTuple_SET_ITEM(sym, 1, item);
        if ((item = PyLong_FromUnsignedLongLong(size)) == NULL)
            goto fail_sym;
        PyTuple_SET_ITEM(sym, 2, item);
        if ((item = PyLong_FromLong((long)(info >> 4))) == NULL)
            goto fail_sym;
        PyTuple_SET_ITEM(sym, 4, item);
        if ((item = PyLong_FromLong((long)shndx)) == NULL)
            goto fail_sym;
        PyTuple_SET_ITEM(sym, 5, item);
        if (PyList_Append(out, sym) < 0)
            goto fail_sym;
        Py_DECREF(sym);
    }
    result = Py_BuildValue("(Nn)", out, bad);
    out = NULL;
    goto done;
fail_sym:
    Py_DECREF(sym);
fail:
    Py_CLEAR(out);
done:
    for (i = 0; i < 16; i++)
        Py_XDECREF(types[i]);
    Py_XDECREF(out);
    PyBuffer_Release(&raw);
    PyBuffer_Release(&strtab);
    return result;
}
