"""The config reader: YAML/JSON/env sources -> `model.entry.Desired`, with located errors.

Does no cluster I/O; builds only the data model's types.
"""
