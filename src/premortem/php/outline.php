<?php
// premortem's PHP-side pass over source files (see premortem/php/outline.py).
//
// Reads frames from stdin: a 4-byte big-endian length, then that many bytes of PHP source.
// Answers one line per frame, in order:
//   "E <line> <message>"  PHP's parser refuses the file (the same ParseError as php -l)
//   "O <relevant> <start> <end> ... | <offset> <word> ..."  it parses; relevant is 1 when
//       the file holds a token premortem's include analysis reads (include/require, const,
//       define(), chdir(), include_path setters, file_exists()-like guards), each
//       start/end pair is the interior of a function body holding none of them (byte
//       offsets, outermost only), and each offset/word pair is one of those tokens (word:
//       i include, r require, c const, f a call). "O 0" when it holds none.
// The process ends at end of input.

$needle_calls = [
    'define' => 1, 'chdir' => 1, 'set_include_path' => 1, 'ini_set' => 1,
    'file_exists' => 1, 'is_file' => 1, 'is_readable' => 1,
    'stream_resolve_include_path' => 1, 'is_link' => 1,
];
// Files without any of these words (in any case) hold no needle: tokenized, not walked.
$needle_words = '/\b(?:include|require|include_once|require_once|define|const|chdir|set_include_path|ini_set|file_exists|is_file|is_readable|stream_resolve_include_path|is_link)\b/i';
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
    $relevant = 0;
    $pending_function = false;
    $stack = [];  // open braces: [is a function body, offset after it, holds a needle]
    $skips = [];  // [start, end] of function bodies without a needle
    $spots = [];  // "offset word" of each needle token
    foreach ($tokens as $token) {
        $kind = $kinds[$token->id] ?? 0;
        if ($kind === 0) {
            continue;
        }
        if ($kind === OPEN) {
            $stack[] = [$pending_function, $token->pos + 1, false];
            $pending_function = false;
        } elseif ($kind === CLOSE) {
            $top = array_pop($stack);
            if ($top === null) {
                continue;
            }
            if ($top[2]) {
                if ($stack) {
                    $stack[count($stack) - 1][2] = true;
                }
            } elseif ($top[0] && $token->pos > $top[1]) {
                // An outer body without a needle covers the inner ones found before.
                while ($skips && $skips[count($skips) - 1][0] >= $top[1]) {
                    array_pop($skips);
                }
                $skips[] = [$top[1], $token->pos];
            }
        } elseif ($kind === FUNC) {
            $pending_function = true;
        } elseif ($kind === END) {
            $pending_function = false;  // an abstract or interface method has no body
        } elseif ($kind === INTERP) {
            $stack[] = [false, 0, false];
        } elseif ($kind === NEEDLE
            || isset($needle_calls[strtolower(ltrim($token->text, '\\'))])) {
            $relevant = 1;
            $spots[] = $token->pos . ' ' . $spot_words[$token->id];
            if ($stack) {
                $stack[count($stack) - 1][2] = true;
            }
        }
    }
    $line = 'O ' . $relevant;
    foreach ($skips as $skip) {
        $line .= ' ' . $skip[0] . ' ' . $skip[1];
    }
    fwrite(STDOUT, $line . ' | ' . implode(' ', $spots) . "\n");
}
