#!/bin/sh
# Checks the room rule of docs/DESIGN.md: a room includes only its own
# headers and the public headers of the rooms above it. Prints every
# include that breaks the rule, as file:line, and exits 1 if there is one.
#
#   scripts/check-layers.sh [ROOT]     (ROOT: the repository, default .)
#
# The rooms, from the top: a room may use those before it in this list.
rooms="core nn knn mapper ph sim embed featvis findings study serve"
set -u
root=${1:-.}
cd "$root" || exit 2

rank() {   # the position of room $1 in $rooms, or nothing
    i=0
    for r in $rooms; do
        [ "$r" = "$1" ] && { echo $i; return; }
        i=$((i + 1))
    done
}

# check FILE ROOM: every #include "..." of FILE against ROOM's place.
check() {
    file=$1 room=$2 own=$(rank "$2")
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" | while IFS= read -r hit; do
        line=${hit%%:*}
        header=$(echo "$hit" | sed 's/.*include[[:space:]]*"\([^"]*\)".*/\1/')
        case $header in
            nerve/internal/*) ;;   # core's internal helpers, for every room
            nerve/*.h)
                other=${header#nerve/}
                other=${other%.h}
                theirs=$(rank "$other")
                if [ -z "$theirs" ]; then
                    echo "$file:$line: includes $header, which is no room's header"
                elif [ "$theirs" -gt "$own" ]; then
                    echo "$file:$line: the $room room includes $header, of the $other room below it"
                fi ;;
            ../*) echo "$file:$line: the $room room reaches into another folder: $header" ;;
            */*) echo "$file:$line: unexpected include path $header" ;;
            *) ;;                  # a header of its own folder
        esac
    done
}

out=$(
    for dir in src/*/; do
        room=$(basename "$dir")
        if [ -z "$(rank "$room")" ]; then
            echo "$dir: a room missing from scripts/check-layers.sh's list (and docs/DESIGN.md)"
            continue
        fi
        for f in "$dir"*.c "$dir"*.h; do
            [ -e "$f" ] && check "$f" "$room"
        done
    done
    for f in include/nerve/*.h; do
        room=$(basename "$f" .h)
        [ -n "$(rank "$room")" ] && check "$f" "$room"
    done
)
if [ -n "$out" ]; then
    echo "$out" >&2
    echo "check-layers: a room may include only the public headers of the rooms above it ($rooms); see docs/DESIGN.md" >&2
    exit 1
fi
echo "check-layers: every room uses only rooms above it"
