"""Repository-wide pytest configuration: the kernel-memory plugin, which lives with the tests.

It applies to the notebooks nbval runs as well as to ``tests/``, so it is
registered here, at the root both share (see ``tests/kernel_memory.py``).
"""
pytest_plugins = ("tests.kernel_memory",)
