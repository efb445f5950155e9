/* Shared declarations of the translation units of formats._accel. */
#ifndef IMGTOOL_ACCEL_H
#define IMGTOOL_ACCEL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* A C-contiguous read-only byte view of obj; str is refused with a TypeError.
 * Returns 0, or -1 with an exception set (_accel.c). */
int accel_bytes_view(PyObject *obj, Py_buffer *view, const char *what);

/* _accel_reloc.c */
PyObject *accel_apply_relocs(PyObject *mod, PyObject *const *args, Py_ssize_t nargs);
extern const char accel_apply_relocs_doc[];

#endif
