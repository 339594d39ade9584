"""The running worker: a supervisor and its inbox, sender and scheduler runners, the job registry, the
prepare process, metrics with the health endpoint, and logging.

The only place that owns loops, retries with backoff, processes and the wall clock. May import everything but
`service.cli`.
"""
