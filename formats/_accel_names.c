/*
 * formats._accel: Go symbol names to package paths, the common case.
 *
 *   go_packages(names) -> list
 *
 * For each name of the list, the package path where the plain rule decides it (an ASCII
 * name that is not generated, holds no '[' or '%': everything before the first '.' after
 * the last '/'), else None: the caller applies the whole rule set to those
 * (formats.go.symbols.symbol_package, the pure-Python twin, which gives the same answer
 * for every name this decides).  Consecutive names of one package share one string.
 */
#include "_accel.h"

#include <string.h>

const char accel_go_packages_doc[] =
"go_packages(names, /) -> list\n\n"
"The package path of each Go symbol name of the list `names` where the plain rule\n"
"decides it (ASCII, not a generated name, no '[' or '%'; the text before the first '.'\n"
"after the last '/'), else None (formats.go.symbols.symbol_package decides those).";

/* prefixes of the generated names the full rule set handles (formats.go.symbols._GENERATED_HEADS) */
static const char *const generated_heads[] = {"go:", "go.", "type:", "type.", "$", "runtime.gcbits."};
/* names of the build information (formats.go.symbols._BUILDINFO) */
static const char *const buildinfo_names[] = {"runtime.modinfo.str", "runtime.buildVersion.str"};

/* The length of the package prefix of the ASCII name s[0:n], or -1 when the plain rule
 * does not decide it. */
static Py_ssize_t plain_package_len(const char *s, Py_ssize_t n)
{
    size_t i;
    Py_ssize_t k, slash = -1;
    if (n == 0)
        return -1;
    for (i = 0; i < sizeof generated_heads / sizeof generated_heads[0]; i++) {
        size_t m = strlen(generated_heads[i]);
        if ((size_t)n >= m && memcmp(s, generated_heads[i], m) == 0)
            return -1;
    }
    for (i = 0; i < sizeof buildinfo_names / sizeof buildinfo_names[0]; i++) {
        if ((size_t)n == strlen(buildinfo_names[i]) && memcmp(s, buildinfo_names[i], (size_t)n) == 0)
            return -1;
    }
    for (k = 0; k < n; k++) {
        if (s[k] == '[' || s[k] == '%')
            return -1;
        if (s[k] == '/')
            slash = k;
    }
    for (k = slash + 1; k < n; k++) {
        if (s[k] == '.')
            return k > 0 ? k : -1;
    }
    return -1;
}

PyObject *accel_go_packages(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *names, *out, *prev = NULL;
    const char *prev_s = NULL;
    Py_ssize_t i, n, prev_len = 0;
    (void)mod;
    if (nargs != 1 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "go_packages() takes one list of str");
        return NULL;
    }
    names = args[0];
    n = PyList_GET_SIZE(names);
    out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        PyObject *name = PyList_GET_ITEM(names, i), *pkg = Py_None;
        if (!PyUnicode_Check(name)) {
            Py_DECREF(out);
            PyErr_Format(PyExc_TypeError, "go_packages(): names[%zd] is not a str", i);
            return NULL;
        }
        if (PyUnicode_IS_ASCII(name)) {
            const char *s = (const char *)PyUnicode_1BYTE_DATA(name);
            Py_ssize_t len = plain_package_len(s, PyUnicode_GET_LENGTH(name));
            if (len > 0) {
                if (prev != NULL && prev_len == len && memcmp(prev_s, s, (size_t)len) == 0) {
                    pkg = prev;
                } else {
                    pkg = PyUnicode_FromStringAndSize(s, len);
                    if (pkg == NULL) {
                        Py_DECREF(out);
                        return NULL;
                    }
                    PyList_SET_ITEM(out, i, pkg); /* the list holds this reference */
                    prev = pkg;
                    prev_s = (const char *)PyUnicode_1BYTE_DATA(pkg);
                    prev_len = len;
                    continue;
                }
            }
        }
        Py_INCREF(pkg);
        PyList_SET_ITEM(out, i, pkg);
    }
    return out;
}
