/*
 * formats._accel: the CPython binding of the relocation walker (reloc_walk.c/.h).
 *
 *   apply_relocs(image, image_addr, table, layout, classes, delta, symvals, symkind,
 *                sites=None) -> (status, index, applied, nsites, relative, skipped)
 *
 * Argument parsing and buffers only; the walk is reloc_walk().  Pure-Python twin:
 * formats/reloc.py (_apply_py).
 */
#include "_accel.h"

#include <stdint.h>

#include "reloc_walk.h"

const char accel_apply_relocs_doc[] =
"apply_relocs(image, image_addr, table, layout, classes, delta, symvals, symkind,\n"
"             sites=None, /) -> (status, index, applied, nsites, relative, skipped)\n\n"
"Apply the ELF relocation table `table` (raw Elf*_Rel/Rela entries, or SHT_RELR words)\n"
"to the writable buffer `image`, whose first byte has link-time address `image_addr`.\n"
"`layout` bits: 1 RELA, 2 ELF64, 4 big-endian, 8 RELR, 16 skip unsupported types,\n"
"32 dry run (check and count, write nothing).\n"
"`classes[type]`: 0 unsupported, 1 none, 2 relative (B+A), 3 symbol+addend, 4 symbol.\n"
"`symvals`: native uint64 per symbol index (final values); `symkind[sym]`: 0 undefined,\n"
"1 moves with the image, 2 absolute.  `sites`: optional writable native uint64 buffer\n"
"receiving the link-time address of every word that moves with the image.\n"
"status: 0 ok, 1 unsupported type, 2 word outside the image, 3 undefined symbol,\n"
"4 symbol index past symvals, 5 table length not a whole number of entries, 6 sites\n"
"buffer too small; `index` is the entry that stopped the walk.  `applied` counts the\n"
"words written, `relative` those of them that were relative (RELR included), `skipped`\n"
"the unsupported entries passed over.";

PyObject *accel_apply_relocs(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer img = {0}, tab = {0}, cls = {0}, sv = {0}, sk = {0}, st = {0};
    unsigned long long image_addr, delta;
    unsigned long layout;
    int status, have_sites = 0;
    reloc_progress pr;
    reloc_job job;
    PyObject *result = NULL;
    (void)mod;

    if (nargs != 8 && nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "apply_relocs() takes 8 or 9 arguments");
        return NULL;
    }
    image_addr = PyLong_AsUnsignedLongLong(args[1]);
    if (image_addr == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    layout = PyLong_AsUnsignedLong(args[3]);
    if (layout == (unsigned long)-1 && PyErr_Occurred())
        return NULL;
    delta = PyLong_AsUnsignedLongLongMask(args[5]);
    if (delta == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    if (PyObject_GetBuffer(args[0], &img, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (accel_bytes_view(args[2], &tab, "relocation table") < 0 ||
        accel_bytes_view(args[4], &cls, "classes") < 0 ||
        accel_bytes_view(args[6], &sv, "symvals") < 0 ||
        accel_bytes_view(args[7], &sk, "symkind") < 0)
        goto done;
    if (nargs == 9 && args[8] != Py_None) {
        if (PyObject_GetBuffer(args[8], &st, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0)
            goto done;
        have_sites = 1;
        if (st.len % 8 != 0 || (st.len && ((uintptr_t)st.buf % _Alignof(uint64_t)) != 0)) {
            PyErr_SetString(PyExc_ValueError, "sites must be an aligned buffer of uint64");
            goto done;
        }
    }
    if (sv.len % 8 != 0 || (sv.len && ((uintptr_t)sv.buf % _Alignof(uint64_t)) != 0) || sv.len / 8 > sk.len) {
        PyErr_SetString(PyExc_ValueError, "symvals must be an aligned uint64 buffer no longer than symkind");
        goto done;
    }
    job.image = img.buf;
    job.image_len = (size_t)img.len;
    job.image_addr = image_addr;
    job.layout = (unsigned)layout;
    job.table = tab.buf;
    job.table_len = (size_t)tab.len;
    job.classes = cls.buf;
    job.nclasses = (size_t)cls.len;
    job.delta = (uint64_t)delta;
    job.symvals = sv.buf;
    job.symkind = sk.buf;
    job.nsyms = (size_t)sv.len / 8;
    job.sites = have_sites ? (uint64_t *)st.buf : NULL;
    job.nsites_max = have_sites ? (size_t)st.len / 8 : 0;
    Py_BEGIN_ALLOW_THREADS
    status = reloc_walk(&job, &pr);
    Py_END_ALLOW_THREADS
    result = Py_BuildValue("(innnnn)", status, (Py_ssize_t)pr.index, (Py_ssize_t)pr.applied,
                           (Py_ssize_t)pr.nsites, (Py_ssize_t)pr.relative, (Py_ssize_t)pr.skipped);
done:
    PyBuffer_Release(&img);
    if (tab.obj) PyBuffer_Release(&tab);
    if (cls.obj) PyBuffer_Release(&cls);
    if (sv.obj) PyBuffer_Release(&sv);
    if (sk.obj) PyBuffer_Release(&sk);
    if (st.obj) PyBuffer_Release(&st);
    return result;
}
