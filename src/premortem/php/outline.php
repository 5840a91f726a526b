<?php
// premortem's PHP-side pass over source files (see premortem/php/outline.py).
//
// Reads frames from stdin: a 4-byte big-endian length, then that many bytes of PHP source.
// Answers one line per frame, in order:
//   "E <line> <message>"  PHP's parser refuses the file (the same ParseError as php -l)
//   "O <relevant> <start> <end> ... | <offset> <word> ..."  it parses; relevant is 1 when
//       the file holds a token premortem's include analysis reads (include/require, const,
//       define(), chdir(), include_path setters; file_exists()-like guards only in a file
//       with an include: they say whether one of its includes is guarded), each start/end
//       pair is the interior of a function body holding none of them (byte offsets,
//       outermost only), and each offset/word pair is one of those tokens (word:
//       i include, r require, c const, f a call). "O 0" when it holds none.
//       A file whose only needles are `const` declarations (class constants, mostly) is
//       answered with a third part, "| <name> ...": the names it declares, so that it is
//       parsed only if an include names one of them.
// The process ends at end of input.

// What each needle is: STRONG makes a file relevant by itself; GUARD only beside an include.
const STRONG = 1, GUARD = 2;
$needle_calls = [
    'define' => STRONG, 'chdir' => STRONG, 'set_include_path' => STRONG, 'ini_set' => STRONG,
    'file_exists' => GUARD, 'is_file' => GUARD, 'is_readable' => GUARD,
    'stream_resolve_include_path' => GUARD, 'is_link' => GUARD,
];
// Files without any of these words (in any case) hold no STRONG needle: tokenized, not
// walked (guards alone make no file relevant).
$needle_words = '/\b(?:include|require|include_once|require_once|define|const|chdir|set_include_path|ini_set)\b/i';
// What each token id means to the walk below; other tokens are only stepped over.
const OPEN = 1, CLOSE = 2, FUNC = 3, END = 4, NEEDLE = 5, NAME = 6, INTERP = 7;
// The word each needle token is to premortem.php.syntax.extract: include, require, const,
// or a call (define(), chdir(), include_path setters, guards).
$spot_words = [
    T_INCLUDE => 'i', T_INCLUDE_ONCE => 'i', T_REQUIRE => 'r', T_REQUIRE_ONCE => 'r',
    T_CONST => 'c', T_STRING => 'f', T_NAME_FULLY_QUALIFIED => 'f',
];
$kinds = [
    ord('{') => OPEN, ord('}') => CLOSE, ord(';') => END, T_FUNCTION => FUNC,
    T_INCLUDE => NEEDLE, T_INCLUDE_ONCE => NEEDLE, T_REQUIRE => NEEDLE,
    T_REQUIRE_ONCE => NEEDLE, T_CONST => NEEDLE,
    T_STRING => NAME, T_NAME_FULLY_QUALIFIED => NAME,
    T_CURLY_OPEN => INTERP, T_DOLLAR_OPEN_CURLY_BRACES => INTERP,
];

// The names a `const` statement declares (each T_STRING right before an `=`: a constant
// expression assigns nothing), from the token after `const` to the `;` that ends it.
function const_names(array $tokens, int $index, array &$names): void
{
    $depth = 0;
    for ($at = $index + 1; isset($tokens[$at]); $at++) {
        $id = $tokens[$at]->id;
        if ($id === 59 && $depth === 0) {  // ;
            return;
        } elseif ($id === 40 || $id === 91 || $id === 123 || $id === T_CURLY_OPEN) {  // ( [ {
            $depth++;
        } elseif ($id === 41 || $id === 93 || $id === 125) {  // ) ] }
            if ($depth === 0) {
                return;
            }
            $depth--;
        } elseif ($id === T_STRING) {
            $next = $at + 1;
            while (isset($tokens[$next]) && $tokens[$next]->isIgnorable()) {
                $next++;
            }
            if (isset($tokens[$next]) && $tokens[$next]->id === 61) {  // =
                $names[$tokens[$at]->text] = true;
            }
        }
    }
}

function read_exactly($count)
{
    $data = '';
    while (strlen($data) < $count) {
        $chunk = fread(STDIN, $count - strlen($data));
        if ($chunk === false || $chunk === '') {
            return null;
        }
        $data .= $chunk;
    }
    return $data;
}

while (($head = read_exactly(4)) !== null) {
    $source = read_exactly(unpack('N', $head)[1]);
    if ($source === null) {
        break;
    }
    try {
        $tokens = PhpToken::tokenize($source, TOKEN_PARSE);
    } catch (Throwable $error) {
        $message = str_replace(["\r", "\n"], ' ', $error->getMessage());
        fwrite(STDOUT, 'E ' . $error->getLine() . ' ' . $message . "\n");
        continue;
    }
    if (!preg_match($needle_words, $source)) {
        fwrite(STDOUT, "O 0\n");
        continue;
    }
    $has_include = false;
    $pending_function = false;
    // Open braces: [is a function body, offset after it, needles held (STRONG | GUARD)].
    $stack = [];
    $skips = [];  // [start, end] of function bodies without a needle
    $guard_skips = [];  // [start, end] of function bodies whose only needles are guards
    $spots = [];  // [offset, word, STRONG or GUARD] of each needle token
    $const_at = [];  // the index of each const token
    $strong_calls = false;  // define(), chdir() or an include_path setter
    foreach ($tokens as $index => $token) {
        if (!isset($kinds[$token->id])) {  // most tokens: the cheapest test PHP has
            continue;
        }
        $kind = $kinds[$token->id];
        if ($kind === OPEN) {
            $stack[] = [$pending_function, $token->pos + 1, 0];
            $pending_function = false;
        } elseif ($kind === CLOSE) {
            $top = array_pop($stack);
            if ($top === null) {
                continue;
            }
            if ($stack) {
                $stack[count($stack) - 1][2] |= $top[2];
            }
            if ($top[0] && $top[2] === 0 && $token->pos > $top[1]) {
                // An outer body without a needle covers the inner ones found before.
                while ($skips && $skips[count($skips) - 1][0] >= $top[1]) {
                    array_pop($skips);
                }
                $skips[] = [$top[1], $token->pos];
            } elseif ($top[0] && $top[2] === GUARD && $token->pos > $top[1]) {
                // Skipped too if the file has no include (its inner bodies without a
                // needle are in $skips: merged below).
                while ($guard_skips && $guard_skips[count($guard_skips) - 1][0] >= $top[1]) {
                    array_pop($guard_skips);
                }
                $guard_skips[] = [$top[1], $token->pos];
            }
        } elseif ($kind === FUNC) {
            $pending_function = true;
        } elseif ($kind === END) {
            $pending_function = false;  // an abstract or interface method has no body
        } elseif ($kind === INTERP) {
            $stack[] = [false, 0, 0];
        } else {
            $strength = $kind === NEEDLE
                ? STRONG : $needle_calls[strtolower(ltrim($token->text, '\\'))] ?? 0;
            if ($strength === 0) {
                continue;
            }
            $word = $spot_words[$token->id];
            if ($word === 'c') {
                $const_at[] = $index;
            } elseif ($word === 'f') {
                $strong_calls = $strong_calls || $strength === STRONG;
            } else {
                $has_include = true;
            }
            $spots[] = [$token->pos, $word, $strength];
            if ($stack) {
                $stack[count($stack) - 1][2] |= $strength;
            }
        }
    }
    if (!$has_include && $guard_skips) {
        // Without an include the guards say nothing: their bodies are skipped too.
        $skips = array_merge($skips, $guard_skips);
        usort($skips, fn($a, $b) => $a[0] <=> $b[0]);
        $outermost = [];
        foreach ($skips as $skip) {
            if (!$outermost || $skip[0] >= $outermost[count($outermost) - 1][1]) {
                $outermost[] = $skip;
            }
        }
        $skips = $outermost;
    }
    $relevant = $has_include || $strong_calls || $const_at ? 1 : 0;  // a STRONG needle
    $line = 'O ' . $relevant;
    $words = [];
    if ($relevant) {
        foreach ($skips as $skip) {
            $line .= ' ' . $skip[0] . ' ' . $skip[1];
        }
        foreach ($spots as $spot) {
            if ($has_include || $spot[2] === STRONG) {
                $words[] = $spot[0] . ' ' . $spot[1];
            }
        }
    }
    $line .= ' | ' . implode(' ', $words);
    if ($relevant && !$has_include && !$strong_calls) {
        $names = [];
        foreach ($const_at as $index) {
            const_names($tokens, $index, $names);
        }
        $line .= ' | ' . implode(' ', array_keys($names));
    }
    fwrite(STDOUT, $line . "\n");
}
