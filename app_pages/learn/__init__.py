"""Learn: the interventions compared, the study topic, processes, the decision table, the rule map,
worked cases and practice; one module a page."""
