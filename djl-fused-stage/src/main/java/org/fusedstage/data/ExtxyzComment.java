package org.fusedstage.data;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * THE parser of an extended-XYZ comment line, used by the reader, the dataset indexer, the sinks
 * and {@code --resume}, so that a sample id reads the same everywhere.
 *
 * <p>It follows ASE's {@code key_val_str_to_dict} grammar: {@code key=value} pairs separated by
 * whitespace, spaces allowed around {@code =}, values delimited by double or single quotes,
 * {@code {}} or {@code []} (delimiters removed, contents verbatim), a backslash escapes the next
 * character anywhere, and a bare key is a true flag ({@code T}). Unlike ASE, which keeps the last
 * of two equal keys, a duplicated key makes the line invalid: readers would disagree on which value
 * the frame means.
 */
public final class ExtxyzComment {

    private ExtxyzComment() {}

    /**
     * Parses a comment line into its keys and raw (unquoted) values, in order.
     *
     * @param line the comment line
     * @param source file name for errors
     * @param lineNumber 1-based line number for errors
     * @throws ExtxyzFormatException on an unterminated quote or bracket, a value without a key, a
     *     key with two values or a duplicated key
     */
    public static Map<String, String> parse(String line, String source, long lineNumber) throws ExtxyzFormatException {
        List<List<String>> pairs = new ArrayList<>(); // each: key, then its value if it has one
        List<String> pair = null;
        StringBuilder token = null; // the token being read, null between tokens
        boolean valueNext = false; // an '=' was read: the next token is the value of the current pair
        char closing = 0; // the closing delimiter while inside quotes or brackets
        boolean escaped = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (escaped) { // a backslash escapes the next character anywhere, also inside quotes
                token.append(c);
                escaped = false;
            } else if (c == '\\' && closing != 0) {
                escaped = true;
            } else if (closing != 0) {
                if (c == closing) {
                    closing = 0;
                } else {
                    token.append(c);
                }
            } else if (c == '=') {
                if (token != null) {
                    pair.add(token.toString());
                    token = null;
                } else if (pair == null || valueNext) {
                    throw new ExtxyzFormatException(source, lineNumber, pair == null ? "a value without a key in the comment line"
                            : "'" + pair.get(0) + "' has '=' twice");
                }
                valueNext = true;
            } else if (Character.isWhitespace(c)) {
                if (token != null) {
                    pair.add(token.toString());
                    token = null;
                }
            } else {
                if (token == null) { // a new token: a value after '=', else the key of a new pair
                    if (!valueNext) {
                        pair = new ArrayList<>(2);
                        pairs.add(pair);
                    }
                    valueNext = false;
                    token = new StringBuilder();
                }
                if (c == '\\') {
                    escaped = true;
                } else if (c == '"' || c == '\'' || c == '{' || c == '[') {
                    closing = c == '{' ? '}' : c == '[' ? ']' : c;
                } else {
                    token.append(c);
                }
            }
        }
        if (closing != 0 || escaped) {
            String where = pair.isEmpty() ? "'" + token + "'" : "the value of '" + pair.get(0) + "'";
            throw new ExtxyzFormatException(source, lineNumber, (escaped ? "a trailing backslash" : "an unterminated "
                    + (closing == '}' ? "'{'" : closing == ']' ? "'['" : "quote")) + " in " + where);
        }
        if (token != null) {
            pair.add(token.toString());
        }
        if (valueNext) {
            throw new ExtxyzFormatException(source, lineNumber, "'" + pair.get(0) + "=' has no value");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (List<String> p : pairs) {
            String key = p.get(0);
            if (p.size() > 2) {
                throw new ExtxyzFormatException(source, lineNumber, "'" + key + "' has '=' twice");
            }
            if (key.isEmpty()) {
                throw new ExtxyzFormatException(source, lineNumber, "an empty key in the comment line");
            }
            if (out.putIfAbsent(key, p.size() == 2 ? p.get(1) : "T") != null) { // a bare key is a true flag, as in ASE
                throw new ExtxyzFormatException(source, lineNumber, "key '" + key + "' appears twice in the comment line");
            }
        }
        return out;
    }

     /**
     * The {@code sample_id} of a comment line, or null when it has none.
     *
     * @throws ExtxyzFormatException when the line is not a valid comment line
     */
    public static String sampleId(String line, String source, long lineNumber) throws ExtxyzFormatException {
        return parse(line, source, lineNumber).get(AtomicSystem.SAMPLE_ID_KEY);
    }

    /**
     * Formats a value so that {@link #parse} reads it back unchanged: bare when it is a plain word,
     * else in double quotes with backslashes and double quotes escaped.
     */
    public static String quote(String value) {
        if (!value.isEmpty() && value.chars().noneMatch(c -> Character.isWhitespace(c) || "\"'{}[]=\\".indexOf(c) >= 0)) {
            return value;
        }
        return '"' + value.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }
}
