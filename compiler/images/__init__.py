"""Model images: one container image per set of dependencies an MLflow model version needs.

    knobless images resolve   registry -> images.lock   (compiler.images.resolve, .registry)
    knobless compile          images.lock -> rendered/  (offline; compiler.images.lock)
    knobless images build     images.lock -> Dockerfile (MLflow's generator) -> image
                                                        (compiler.images.build, .builders)

The lock is the only thing `compile` reads: it never talks to a registry, so rendering stays
offline and deterministic, and what a change does to images is reviewed in the pull request.
"""
