"""Argo CD: the REST client (client.py), its errors (errors.py), API models (models.py), waiting
(waiting.py), output (output.py) and the `knobless argocd` command (cli.py).

Import the submodules; this package imports nothing so that the renderer, which only needs
`naming`, does not load httpx.
"""
