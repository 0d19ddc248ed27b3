"""Worlds: named bundles of a student factory, judges, a prompt source and a probe source.

Each world is one small module; import it by name (``scalarscope.worlds.real_judges``) so that
importing the kit never loads a world's heavy dependencies.
"""
