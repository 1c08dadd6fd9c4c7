#!/usr/bin/env bash
# Checks that the Swift sources are as `swift format` (in the toolchain) leaves them, with the
# checked-in configuration (.swift-format). Fix with:
#   swift format format --in-place --parallel --recursive Sources Tests Benchmarks Package.swift
set -euo pipefail
cd "$(dirname "$0")/.."
swift format lint --strict --parallel --recursive Sources Tests Benchmarks Package.swift
