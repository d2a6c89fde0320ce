#!/usr/bin/env bash
# Prints, one per line, the Debian packages holding the shared libraries that the programs and
# plugins installed under TREE need (ldd, then dpkg -S): the runtime stage of the Containerfile
# installs exactly these, not the -dev packages of the build stage. Libraries inside TREE, or
# under PROVIDED (a libtorch that the base image brings, for the CUDA variant), are skipped.
# Fails, naming the file, when a library is not found or belongs to no package.
# Usage: runtime-packages.sh TREE [PROVIDED]
set -euo pipefail
tree=$1
provided=${2:-}

is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = "177ELF" ]; }

declare -A libraries=()
while IFS= read -r -d '' file; do
  is_elf "$file" || continue
  while read -r line; do
    case $line in
      *"=> not found"*) echo "runtime-packages: ${file#"$tree"/}: ${line%% *} not found" >&2; exit 1 ;;
      *"=> /"*) path=${line#*=> }; path=${path%% (*}; libraries[$path]=1 ;;
    esac
  done < <(ldd "$file" 2>/dev/null || true)
done < <(find "$tree" -type f -print0)

# One dpkg -S for every library, each under all its /usr-merged spellings (Debian 12 registers
# some under /lib, some under /usr/lib).
declare -A library_of=()
for path in "${!libraries[@]}"; do
  case $path in "$tree"/*) continue ;; esac
  if [ -n "$provided" ]; then case $path in "$provided"/*) continue ;; esac; fi
  real=$(readlink -f "$path")
  for spelling in "$path" "$real" "${real#/usr}" "/usr${real#/usr}"; do
    library_of[$spelling]=$path
  done
done
declare -A packages=() owned=()
while IFS= read -r line; do
  owners=${line%%: /*}
  file=/${line#*: /}
  [ -n "${library_of[$file]:-}" ] || continue
  owned[${library_of[$file]}]=1
  for owner in ${owners//,/ }; do packages[${owner%%:*}]=1; done
done < <(((${#library_of[@]})) && dpkg -S "${!library_of[@]}" 2>/dev/null || true)
for path in "${library_of[@]}"; do
  if [ -z "${owned[$path]:-}" ]; then
    echo "runtime-packages: $path belongs to no Debian package" >&2
    exit 1
  fi
done
if ((${#packages[@]})); then printf '%s\n' "${!packages[@]}" | sort; fi
