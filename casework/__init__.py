"""What happens around a diagnosis: action plan, justification report, case store, batch, command line.

Case data is personal data, so nothing here writes it to a log (experta's fact "watchers" are kept
quiet by :mod:`rules.engine`).
"""
