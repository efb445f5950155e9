/*
 * formats._accel: the CPython binding of the pclntab walker (pclntab_walk.c/.h).
 *
 *   pcln_decode(table, params) -> (status, bad, functab_end, cols)
 *   pcln_charge(table, params, cols) -> (status, parts)
 *
 * `params` is the tuple (version, ptrsize, big, quantum, text_start, nfunc, funcnametab,
 * cutab, pctab, functab, charge_funcdata, funcdata_size); `cols` a bytearray of
 * nfunc * PCLN_NCOL native uint64.  Argument parsing and buffers only.  Pure-Python twin:
 * formats/go/pclnwalk.py.
 */
#include "_accel.h"

#include <stdint.h>

#include "pclntab_walk.h"

const char accel_pcln_decode_doc[] =
"pcln_decode(table, params, /) -> (status, bad, functab_end, cols)\n\n"
"Decode the function table of the Go pclntab `table` (bytes-like, from the magic).\n"
"`params`: (version 116/118/120, ptrsize, big, quantum, text_start, nfunc, funcnametab,\n"
"cutab, pctab, functab, charge_funcdata, funcdata_size).  `cols`: a bytearray of nfunc\n"
"rows of 14 native uint64 (entry, end, nameoff, namelen, record, recsize, pcsp, pcfile,\n"
"pcln, npcdata, cu, funcid, nfuncdata, own).  status 0 ok, else the check that failed at\n"
"function `bad` (1 order, 2 record offset, 3 entry, 4 name, 5 pc table, 6 record size).";

const char accel_pcln_charge_doc[] =
"pcln_charge(table, params, cols, /) -> (status, parts)\n\n"
"Fill the own-bytes column of `cols` (from pcln_decode) and return the bytes charged per\n"
"part: (funcnametab, pctab, functab, _func, funcdata).  status 0 ok, 7 out of memory,\n"
"9 the last pc-value table runs past pctab.";

static int parse_job(PyObject *table, PyObject *params, Py_buffer *view, pcln_job *job)
{
    unsigned long long v[11]; /* addresses and offsets: unsigned 64-bit (a text start may be >= 2^63) */
    long long fdsize;         /* may be negative: no funcdata blob */
    Py_ssize_t i;
    if (!PyTuple_Check(params) || PyTuple_GET_SIZE(params) != 12) {
        PyErr_SetString(PyExc_TypeError, "params must be a tuple of 12 integers");
        return -1;
    }
    for (i = 0; i < 11; i++) {
        v[i] = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(params, i));
        if (v[i] == (unsigned long long)-1 && PyErr_Occurred())
            return -1; /* OverflowError for a negative value */
    }
    fdsize = PyLong_AsLongLong(PyTuple_GET_ITEM(params, 11));
    if (fdsize == -1 && PyErr_Occurred())
        return -1;
    if (accel_bytes_view(table, view, "pclntab") < 0)
        return -1;
    job->tab = view->buf;
    job->len = (size_t)view->len;
    job->version = (int)v[0];
    job->ptrsize = (int)v[1];
    job->big = (int)v[2];
    job->quantum = (int)v[3];
    job->text_start = (uint64_t)v[4];
    job->nfunc = (size_t)v[5];
    job->funcnametab = (size_t)v[6];
    job->cutab = (size_t)v[7];
    job->pctab = (size_t)v[8];
    job->functab = (size_t)v[9];
    job->charge_funcdata = (int)v[10];
    job->funcdata_size = (int64_t)fdsize;
    return 0;
}

PyObject *accel_pcln_decode(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view;
    pcln_job job;
    PyObject *cols;
    size_t end = 0, bad = 0;
    int status;
    (void)mod;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "pcln_decode() takes exactly 2 arguments");
        return NULL;
    }
    if (parse_job(args[0], args[1], &view, &job) < 0)
        return NULL;
    if (job.nfunc > job.len) {
        PyBuffer_Release(&view);
        return Py_BuildValue("(innO)", PCLN_BADARG, (Py_ssize_t)0, (Py_ssize_t)0, Py_None);
    }
    cols = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(job.nfunc * PCLN_NCOL * sizeof(uint64_t)));
    if (cols == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = pcln_decode(&job, (uint64_t *)PyByteArray_AS_STRING(cols), &end, &bad);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return Py_BuildValue("(innN)", status, (Py_ssize_t)bad, (Py_ssize_t)end, cols);
}

PyObject *accel_pcln_charge(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer view, cv;
    pcln_job job;
    int64_t parts[PCLN_NPART];
    int status;
    (void)mod;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "pcln_charge() takes exactly 3 arguments");
        return NULL;
    }
    if (parse_job(args[0], args[1], &view, &job) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[2], &cv, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    if ((size_t)cv.len != job.nfunc * PCLN_NCOL * sizeof(uint64_t) || ((uintptr_t)cv.buf % _Alignof(uint64_t))) {
        PyBuffer_Release(&view);
        PyBuffer_Release(&cv);
        PyErr_SetString(PyExc_ValueError, "cols must be the aligned column buffer of pcln_decode");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = pcln_charge(&job, (uint64_t *)cv.buf, parts);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    PyBuffer_Release(&cv);
    return Py_BuildValue("(i(LLLLL))", status, (long long)parts[0], (long long)parts[1], (long long)parts[2],
                         (long long)parts[3], (long long)parts[4]);
}
