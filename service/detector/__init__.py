"""The detector: message text to a verdict (complaint, anxiety or none), scores and evidence sentences.

Owns the shipped model artefacts (`artefacts/`) and their NumPy scorer; `training/` fits new models and is
imported by the CLI only. May import `service.mailformat` and `service.errors`; never the store, adapters or runtime.
"""
