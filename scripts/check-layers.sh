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

# One awk pass over every file: a file's room is its folder under src/ or,
# for include/nerve/<room>.h, its name; each #include "..." is checked
# against the room's place in the list.
out=$(
    for dir in src/*/; do
        case " $rooms " in
            *" $(basename "$dir") "*) ;;
            *) echo "$dir: a room missing from scripts/check-layers.sh's list (and docs/DESIGN.md)" ;;
        esac
    done
    ls src/*/*.c src/*/*.h include/nerve/*.h 2>/dev/null | awk -v rooms="$rooms" '
        BEGIN { n = split(rooms, list, " "); for (i = 1; i <= n; i++) rank[list[i]] = i }
        {
            file = $0
            if (file ~ /^src\//) { split(file, part, "/"); room = part[2] }
            else { room = file; sub(/^include\/nerve\//, "", room); sub(/\.h$/, "", room) }
            if (!(room in rank)) next
            line = 0
            while ((getline text < file) > 0) {
                line++
                if (text !~ /^[ \t]*#[ \t]*include[ \t]*"/) continue
                header = text
                sub(/^[^"]*"/, "", header); sub(/".*$/, "", header)
                if (header ~ /^nerve\/internal\//) continue
                if (header ~ /^nerve\/[^\/]*\.h$/) {
                    other = header; sub(/^nerve\//, "", other); sub(/\.h$/, "", other)
                    if (!(other in rank))
                        print file ":" line ": includes " header ", which is no room\x27s header"
                    else if (rank[other] > rank[room])
                        print file ":" line ": the " room " room includes " header ", of the " other " room below it"
                } else if (header ~ /^\.\.\//)
                    print file ":" line ": the " room " room reaches into another folder: " header
                else if (header ~ /\//)
                    print file ":" line ": unexpected include path " header
            }
            close(file)
        }'
)
if [ -n "$out" ]; then
    echo "$out" >&2
    echo "check-layers: a room may include only the public headers of the rooms above it ($rooms); see docs/DESIGN.md" >&2
    exit 1
fi
echo "check-layers: every room uses only rooms above it"
