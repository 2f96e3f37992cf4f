package io.svcmove.dns;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A TSIG key as BIND's tsig-keygen writes it: {@code key "NAME" { algorithm ALG; secret "BASE64"; };}. */
public record TsigKey(String name, String algorithm, byte[] secret) {
    private static final Pattern KEY = Pattern.compile("key\\s+\"?([A-Za-z0-9._-]+)\"?\\s*\\{(.*?)\\}\\s*;", Pattern.DOTALL);
    private static final Pattern ALGORITHM = Pattern.compile("algorithm\\s+\"?([A-Za-z0-9.-]+)\"?\\s*;");
    private static final Pattern SECRET = Pattern.compile("secret\\s+\"([^\"]*)\"\\s*;");
    // A quoted string or a comment: comments go, strings stay (a base64 secret may hold "//").
    private static final Pattern STRING_OR_COMMENT = Pattern.compile("\"[^\"]*\"|(?:#|//)[^\\n]*|/\\*.*?\\*/", Pattern.DOTALL);

    /** Reads the first key of FILE. */
    public static TsigKey load(Path file) throws DnsException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new DnsException(DnsException.Cause.CONFIG, "the TSIG key file " + file + " does not exist: make one with"
                    + " 'tsig-keygen -a hmac-sha256 NAME > " + file + "' and give the DNS server the same key");
        } catch (IOException e) {
            throw new DnsException(DnsException.Cause.CONFIG, "cannot read the TSIG key file " + file + ": " + e.getMessage());
        }
        return parse(text, file.toString());
    }

    static TsigKey parse(String text, String source) throws DnsException {
        String clean = STRING_OR_COMMENT.matcher(text).replaceAll(m -> m.group().startsWith("\"") ? Matcher.quoteReplacement(m.group()) : "");
        Matcher key = KEY.matcher(clean);
        if (!key.find()) {
            throw new DnsException(DnsException.Cause.CONFIG, source + " holds no TSIG key: expected BIND's key-file format,"
                    + " key \"NAME\" { algorithm hmac-sha256; secret \"BASE64\"; }; (as tsig-keygen writes it)");
        }
        Matcher alg = ALGORITHM.matcher(key.group(2));
        Matcher sec = SECRET.matcher(key.group(2));
        if (!sec.find()) {
            throw new DnsException(DnsException.Cause.CONFIG, source + ": key \"" + key.group(1) + "\" has no secret \"BASE64\";");
        }
        byte[] secret;
        try {
            secret = Base64.getDecoder().decode(sec.group(1).replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
            throw new DnsException(DnsException.Cause.CONFIG, source + ": the secret of key \"" + key.group(1) + "\" is not base64");
        }
        return new TsigKey(key.group(1), alg.find() ? alg.group(1).toLowerCase() : "hmac-sha256", secret);
    }
}
