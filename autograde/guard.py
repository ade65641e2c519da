"""Catch student code that replaces what the tests rely on, before a test cell runs.

LimitedExecute sends SNAPSHOT to each kernel before the first cell (silently), and
before each autograder test cell asks `CHECK` which watched objects are no longer the
originals: course_lib's functions, numpy.testing's, the builtins, IPython's
showtraceback, the modules themselves and the usual aliases (`cl`, `np`, ...). A test
cell that would run on replaced machinery is not run and scores 0, with the reason.

This stops the usual cheats, not a determined attacker: code in the kernel can reach
this guard too. The sandbox (autograde.sandbox) is what bounds the damage.
"""

PROTECTED_MODULES = ("course_lib", "numpy", "numpy.testing", "tensorflow", "keras")
ALIASES = {
    "cl": "course_lib",
    "course_lib": "course_lib",
    "np": "numpy",
    "tf": "tensorflow",
    "keras": "keras",
}

SNAPSHOT = r"""
def __autograde_guard():
    import builtins, sys, types
    import numpy.testing, course_lib
    from IPython.core.interactiveshell import InteractiveShell

    watched = {}

    def watch(label, namespace):
        for name, value in list(vars(namespace).items()):
            if callable(value) and not name.startswith("__"):
                watched[label + "." + name] = (namespace, name, value, getattr(value, "__code__", None))

    # IPython swaps these builtins itself while it runs cells.
    swapped = {"input", "raw_input", "get_ipython", "display", "exit", "quit", "help"}
    watch("builtins", builtins)
    for name in swapped:
        watched.pop("builtins." + name, None)
    watch("numpy.testing", numpy.testing)
    for name in sorted(sys.modules):
        if name == "course_lib" or name.startswith("course_lib."):
            watch(name, sys.modules[name])
    shell = get_ipython()

    def method(owner, name):
        found = getattr(owner, name, None)
        return getattr(found, "__func__", found)

    hooks = ("showtraceback", "_showtraceback", "run_cell", "run_cell_async")
    shell_methods = {name: method(shell, name) for name in hooks}
    modules = {name: sys.modules.get(name) for name in PROTECTED_MODULES}

    def changed(aliases):
        found = []
        for label, (namespace, name, value, code) in watched.items():
            now = getattr(namespace, name, None)
            if now is not value or getattr(now, "__code__", None) is not code:
                found.append(label)
        for name, module in modules.items():
            if module is not None and sys.modules.get(name) is not module:
                found.append("sys.modules[%r]" % name)
        for name, original in shell_methods.items():
            if method(shell, name) is not original:
                found.append("get_ipython()." + name)
        for alias, name in aliases.items():
            if alias not in shell.user_ns or modules.get(name) is None:
                continue
            value = shell.user_ns[alias]
            # `cl` has one meaning; `keras` may fairly be tensorflow.keras, so for the
            # other names any real module will do, but a stand-in object will not.
            if value is not modules[name] if name == "course_lib" else not isinstance(value, types.ModuleType):
                found.append("the name %r (should be the module %s)" % (alias, name))
        return sorted(set(found))

    return changed

try:
    __autograde_changed = __autograde_guard()
except Exception:  # nothing to guard (e.g. course_lib missing): the check will say so
    pass
del __autograde_guard
""".replace("PROTECTED_MODULES", repr(PROTECTED_MODULES))


def check_expression(aliases):
    return f"__autograde_changed({aliases!r})"
