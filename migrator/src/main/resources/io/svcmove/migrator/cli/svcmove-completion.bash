# What follows reads the table above; it needs no bash-completion helpers.

# The names of kind $1 (services, nodes) from the CLI being completed: at most 2 s (or
# $SVCMOVE_COMPLETION_TIMEOUT), errors silenced, so that no agent (or no root) means no names, never a
# hang or a message over the command line.
_svcmove_names() {
  local config=()
  [[ -n $_svcmove_config ]] && config=(--config "$_svcmove_config")
  timeout "${SVCMOVE_COMPLETION_TIMEOUT:-2}" "${COMP_WORDS[0]}" completion "$1" "${config[@]}" 2>/dev/null
}

# Offers the candidates of kind $1 that begin with $cur: @service, @node, @file, @dir, or words "a|b".
_svcmove_offer() {
  local IFS=$'\n'
  case $1 in
    @service | @node) COMPREPLY=($(compgen -W "$(_svcmove_names "${1#@}s")" -- "$cur")) ;;
    @file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    @dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "${1//|/$'\n'}" -- "$cur")) ;;
  esac
}

# Sets kind to what completes the value of option $1, or fails when $1 takes no value.
_svcmove_value_kind() {
  local v
  for v in $_svcmove_values; do
    if [[ ${v%%=*} == "$1" ]]; then
      kind=${v#*=}
      return 0
    fi
  done
  return 1
}

_svcmove() {
  local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]-} first=2 i w next kind n=0 operands
  local _svcmove_opts _svcmove_values _svcmove_operands _svcmove_config=
  COMPREPLY=()
  if ((COMP_CWORD == 1)); then
    if [[ $cur == -* ]]; then
      _svcmove_offer '--help|--version'
      return
    fi
    _svcmove_offer "${_svcmove_commands// /|}"
    # 'svcmove NAME NODE' moves NAME: a beginning that is no command's may be a service's.
    if ((${#COMPREPLY[@]} == 0)) && [[ -n $cur ]]; then
      _svcmove_offer @service
    fi
    return
  fi
  if ! _svcmove_spec "$cmd"; then
    [[ $cmd == -* ]] && return
    cmd=move first=1
    _svcmove_spec move
  fi
  # The words before the cursor: options and their values (OPT VALUE, or OPT = VALUE where bash splits
  # at '='), the operands, and '--' after which run's COMMAND comes.
  for ((i = first; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    next=${COMP_WORDS[i + 1]-}
    if [[ $w == -- ]]; then
      if ((i + 1 == COMP_CWORD)); then
        COMPREPLY=($(compgen -c -- "$cur"))
      else
        compopt -o default 2>/dev/null
      fi
      return
    fi
    if _svcmove_value_kind "$w"; then
      if ((i + 1 == COMP_CWORD)) || { [[ $next == = ]] && ((i + 2 == COMP_CWORD)); }; then
        [[ $cur == = ]] && cur=
        _svcmove_offer "$kind"
        return
      fi
      [[ $next == = ]] && ((i++))
      ((i++))
      [[ $w == --config ]] && _svcmove_config=${COMP_WORDS[i]}
    elif [[ $w != -* ]]; then
      ((n++))
    fi
  done
  if [[ $cur == -* ]]; then
    _svcmove_offer "${_svcmove_opts// /|}"
    return
  fi
  read -ra operands <<<"$_svcmove_operands"
  if ((n < ${#operands[@]})); then
    _svcmove_offer "${operands[n]}"
  fi
}

complete -F _svcmove svcmove
