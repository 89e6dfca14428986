"""Built-in semantic lint rules, one module per family, each an ordinary plugin.

Every module declares its rules (`knobless_lint_rules`) and checks them in
`knobless_lint_endpoint` / `knobless_lint_environment`. docs/reference/lint-rules.md lists them all.
"""
