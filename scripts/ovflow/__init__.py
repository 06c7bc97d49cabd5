"""Library behind the workflow's rules: each module does one stage's logic."""
