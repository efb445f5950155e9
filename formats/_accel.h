/* Shared declarations of the CPython binding files of formats._accel (_accel.c,
 * _accel_reloc.c, _accel_pcln.c, _accel_names.c,
 * _accel_elfsym.c).  The engines they call (crc_engine.h, pe_checksum.h, reloc_walk.h, pclntab_walk.h)
 * do not include this file and know nothing of Python. */
#ifndef IMGTOOL_ACCEL_H
#define IMGTOOL_ACCEL_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Inputs at least this long are processed with the GIL released. */
#define ACCEL_GIL_RELEASE_THRESHOLD (16 * 1024)

/* Run the statement `stmt` (which must not touch Python objects) with the GIL released
 * when `len` bytes are at least ACCEL_GIL_RELEASE_THRESHOLD, else with the GIL held
 * (releasing it costs more than a short input takes). */
#define ACCEL_MAYBE_WITHOUT_GIL(len, stmt)                  \
    do {                                                    \
        if ((len) >= ACCEL_GIL_RELEASE_THRESHOLD) {         \
            Py_BEGIN_ALLOW_THREADS                          \
            stmt;                                           \
            Py_END_ALLOW_THREADS                            \
        } else {                                            \
            stmt;                                           \
        }                                                   \
    } while (0)

/* A C-contiguous read-only byte view of obj; str is refused with a TypeError.
 * Returns 0, or -1 with an exception set (_accel.c). */
int accel_bytes_view(PyObject *obj, Py_buffer *view, const char *what);

/* _accel_reloc.c */
PyObject *accel_apply_relocs(PyObject *mod, PyObject *const *args, Py_ssize_t nargs);
extern const char accel_apply_relocs_doc[];

/* _accel_pcln.c */
PyObject *accel_pcln_decode(PyObject *mod, PyObject *const *args, Py_ssize_t nargs);
PyObject *accel_pcln_charge(PyObject *mod, PyObject *const *args, Py_ssize_t nargs);
extern const char accel_pcln_decode_doc[];
extern const char accel_pcln_charge_doc[];

/* _accel_elfsym.c */
PyObject *accel_elf_symbols(PyObject *mod, PyObject *const *args, Py_ssize_t nargs);
extern const char accel_elf_symbols_doc[];

/* _accel_names.c */
PyObject *accel_go_packages(PyObject *mod, PyObject *const *args, Py_ssize_t nargs);
extern const char accel_go_packages_doc[];

#endif
