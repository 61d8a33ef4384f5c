"""The training stage: labeled data, arguments, the Trainer, evaluation, metrics and model cards."""
