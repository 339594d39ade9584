"""The mail format, pure: parse inbound bytes, compose outbound bytes, render operator templates.

Owns RFC 5322/MIME handling, quoting and signature stripping, machine-mail signals read from headers,
and the Jinja2 templates. Imports nothing else of the service but `service.errors`.
"""
