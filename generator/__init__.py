"""fixdex: one YAML record per error in, a fast static troubleshooting site out.

The pipeline, one module per stage: load -> validate -> link -> render -> write, driven by
`build`. `cli` is the command line around it.
"""

__version__ = "0.1.0"
