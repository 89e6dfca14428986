"""`knobless images resolve|build`: lock each served MLflow version's image, then build it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from compiler.commands._common import EXIT_CODES, add_root, repository_root
from compiler.errors import StaleOutputError
from compiler.images.lock import LOCK_FILE, dump_lock, load_lock, write_lock
from compiler.sources import select_environments


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "images",
        help="lock and build the image of each served MLflow model version",
        description="Model images: `resolve` asks each environment's MLflow registry what every "
        "served version needs and writes images.lock; `build` turns each locked image into a "
        "Dockerfile (MLflow's generator) and builds/pushes it.",
    )
    commands = parser.add_subparsers(dest="images_command", metavar="COMMAND", required=True)
    _register_resolve(commands)
    _register_build(commands)


def _register_resolve(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    resolve = commands.add_parser(
        "resolve",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="ask the registries, write images.lock",
        description="Ask each environment's registry (mlflow.externalUri or mlflow.trackingUri; "
        "token from MLFLOW_TRACKING_TOKEN) what each served MLflow version needs and write "
        "images.lock. Writes nothing on any error.",
    )
    _environments(resolve)
    resolve.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when images.lock is not what the registries say",
    )
    add_root(resolve)
    resolve.set_defaults(handler=run_resolve)


def _register_build(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    build = commands.add_parser(
        "build",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="generate Dockerfiles (MLflow's generator) and build/push the locked images",
        description="For each image images.lock gives the environments: the Dockerfile from "
        "`mlflow models generate-dockerfile`, then a build with docker, buildah or kaniko. "
        "--push pushes and records each image's digest in images.lock. Images whose digest is "
        "recorded are skipped (their tag is their dependencies).",
    )
    _environments(build)
    build.add_argument(
        "--push", action="store_true", help="push, and record digests in images.lock"
    )
    build.add_argument(
        "--dockerfile-only",
        action="store_true",
        help="write the build contexts (Dockerfiles) only; no builder needed",
    )
    build.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help="where build contexts go (default: a temporary folder)",
    )
    build.add_argument(
        "--mlflow",
        metavar="PATH",
        help="the mlflow CLI (default: KNOBLESS_MLFLOW_CLI, else mlflow on PATH)",
    )
    build.add_argument(
        "--builder", choices=("docker", "buildah", "kaniko"), help="default: the first present"
    )
    build.add_argument(
        "--rebuild", action="store_true", help="build images whose digest is recorded too"
    )
    add_root(build)
    build.set_defaults(handler=run_build)


def _environments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env", action="append", metavar="ENV", help="only this environment (repeatable)"
    )


def run_resolve(args: argparse.Namespace) -> int:
    from compiler.images.resolve import resolve_lock

    root = repository_root(args)
    resolved = resolve_lock(root, args.env)
    text = dump_lock(resolved.lock)
    file = root / LOCK_FILE
    current = file.read_text(encoding="utf-8") if file.is_file() else None
    if args.check:
        if current != text:
            raise StaleOutputError(
                f"{LOCK_FILE} is not what the registries say: run `knobless images resolve` "
                "and commit it"
            )
        print(f"{LOCK_FILE} is up to date", file=sys.stderr)
        return 0
    changed = write_lock(root, resolved.lock)
    print(
        f"resolved {resolved.models} served model versions in {len(resolved.environments)} "
        f"environments ({', '.join(resolved.environments)}) to {resolved.images} images: "
        f"{LOCK_FILE} {'written' if changed else 'unchanged'}",
        file=sys.stderr,
    )
    return 0


def run_build(args: argparse.Namespace) -> int:
    from compiler.images.build import build_images, with_digests

    root = repository_root(args)
    environments = {f.stem for f in select_environments(root, args.env)}
    lock = load_lock(root)
    built = build_images(
        lock,
        environments,
        output=args.output,
        mlflow=args.mlflow,
        builder_name=args.builder,
        push=args.push,
        dockerfile_only=args.dockerfile_only,
        rebuild=args.rebuild,
    )
    for image in built:
        state = (
            f"pushed {image.digest}"
            if image.digest
            else ("Dockerfile" if args.dockerfile_only else "built")
        )
        print(f"{image.reference}: {state} ({image.context / 'Dockerfile'})")
    if args.push and any(b.digest for b in built):
        write_lock(root, with_digests(lock, built))
    print(
        f"{len(built)} images; {len(lock.images(environments)) - len(built)} already pushed",
        file=sys.stderr,
    )
    return 0
