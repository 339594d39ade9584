"""Training and measuring the detector (`followup train`, `followup eval`): data set readers, fitting, scores.

Pulls in scikit-learn; imported only by `service.cli`, never by the worker.
"""
