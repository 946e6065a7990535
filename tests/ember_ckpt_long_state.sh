#!/bin/sh
# ember-ckpt on a directory whose `checkpoint` state file names a path longer
# than the file system allows: an error naming the path and exit status 1,
# never an abort. Usage: ember_ckpt_long_state.sh EMBER_CKPT
dir=$(mktemp -d)
long=$(head -c 5000 /dev/zero | tr '\0' x)
printf 'model_checkpoint_path: "%s"\n' "$long" > "$dir/checkpoint"
"$1" "$dir" 2>&1
echo "exit status $?"
rm -rf "$dir"
