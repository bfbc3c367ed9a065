"""The loader path of models logged before the tracking package existed: their MLmodel files
name `pipeline.serving` as the pyfunc `loader_module`. The flavour lives in
`pipeline.tracking.serving`."""

from pipeline.tracking.serving import _load_pyfunc, register_custom_objects

__all__ = ["_load_pyfunc", "register_custom_objects"]
