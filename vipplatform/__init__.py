"""The kernel every app stands on: the API's envelope and errors, the database's column types
and takeover rules, throttling, staff rights, the read cache, the periodic jobs' runner and the
admin's shared list pieces. It never imports an app; `config` is what assembles them."""
