#!/usr/bin/env bash
# Prints the name of this machine's folder under results/bench/ for the benchmark scripts: the CPU's
# model name, lower case and hyphenated, with its family and model numbers (virtual machines often
# say only "AMD EPYC"), e.g. amd-epyc-f25m17. The lead may rename a folder by hand (zen4, xeon).
set -euo pipefail
name=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2 | sed -E 's/\((R|TM)\)//g; s/ CPU//; s/@.*//; s/ [0-9]+-Core Processor//' | xargs | tr 'A-Z ' 'a-z-')
family=$(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | xargs)
model=$(grep -m1 '^model\s' /proc/cpuinfo | cut -d: -f2 | xargs)
echo "${name:-cpu}-f${family:-0}m${model:-0}"
