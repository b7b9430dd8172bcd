"""csmetrics-broken: plugins that fail on purpose, each in its own way."""
