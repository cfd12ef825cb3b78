// Package redact hides the secrets of a bus URL, or of a PostgreSQL
// keyword/value DSN, before it reaches a log line, an error or any other
// output. Every place that shows a bus URL to a person goes through it.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces each secret, as url.URL.Redacted does.
const Mask = "xxxxx"

// secretKey reports whether a query parameter or DSN keyword names a
// secret. PostgreSQL takes password= in the query and in a DSN; other
// clients use the rest.
func secretKey(k string) bool {
	switch strings.ToLower(k) {
	case "password", "pass", "pwd", "passwd", "secret", "token", "key", "sslpassword", "auth_token", "access_token":
		return true
	}
	return false
}

// tokenInUser reports whether scheme's URLs carry a token in a user part
// without a password (nats://TOKEN@host), which is then a secret too.
func tokenInUser(scheme string) bool {
	switch strings.ToLower(scheme) {
	case "nats", "tls", "ws", "wss":
		return true
	}
	return false
}

// URL returns u as a string with its secrets replaced by Mask: the
// password of the user information (u:p@ and :p@), the user itself where
// the scheme takes a token there (nats://TOKEN@), and the value of every
// query parameter whose name, in any case, is password, pass, pwd,
// secret, token or key. A nil u gives "".
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := *u
	if r.User != nil {
		if _, has := r.User.Password(); has {
			r.User = url.UserPassword(r.User.Username(), Mask)
		} else if tokenInUser(r.Scheme) && r.User.Username() != "" {
			r.User = url.User(Mask)
		}
	}
	r.RawQuery = query(r.RawQuery)
	if r.Opaque != "" {
		r.Opaque = Text(r.Opaque)
	}
	if r.Scheme == "" {
		// Not a URL but, likely, a keyword/value DSN taken for a path.
		r.Path = Text(r.Path)
		r.RawPath = ""
	}
	return r.String()
}

// query returns the raw query q with the values of secret parameters
// replaced, and everything else as it was.
func query(q string) string {
	if q == "" {
		return q
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if hasValue && secretKey(k) {
			parts[i] = p[:strings.IndexByte(p, '=')+1] + Mask
		}
	}
	return strings.Join(parts, "&")
}

// String returns s, a bus URL as a user wrote it, with its secrets
// replaced by Mask, as URL does. s need not parse: the user information
// after "://" and every secret keyword's value (password=… in a query or
// in a PostgreSQL keyword/value DSN such as "host=db password=…", quoted
// or not) are replaced all the same.
func String(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		if r := URL(u); r != u.String() {
			return r
		}
		return s // as written: u.String() turns local:// into local:
	}
	return Text(s)
}

// kv matches a secret keyword and its value: key=value, key = 'quoted
// value', in a query (after ? or &) or a DSN (after a space or at the
// start).
var kv = regexp.MustCompile(`(?i)(^|[\s?&;])(password|pass|pwd|passwd|secret|token|key|sslpassword|auth_token|access_token)(\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&;]*)`)

// Text is String for text that is not a URL, or not a valid one.
func Text(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		start := i + 3
		end := len(s)
		if j := strings.IndexAny(s[start:], "/?#"); j >= 0 {
			end = start + j
		}
		if at := strings.LastIndex(s[start:end], "@"); at >= 0 {
			user := s[start : start+at]
			masked := Mask
			if name, _, hasPass := strings.Cut(user, ":"); hasPass {
				masked = name + ":" + Mask
			} else if !tokenInUser(s[:i]) {
				masked = user
			}
			s = s[:start] + masked + s[start+at:]
		}
	}
	return kv.ReplaceAllString(s, "${1}${2}${3}"+Mask)
}

// Secrets returns the secret values in s, a bus URL or DSN, both as
// written and decoded, longest first, for Scrub. It finds those that
// String hides.
func Secrets(s string) []string {
	var out []string
	add := func(v string) {
		v = strings.Trim(v, "'")
		if len(v) == 0 || v == Mask {
			return
		}
		out = append(out, v)
		if d, err := url.PathUnescape(v); err == nil && d != v {
			out = append(out, d)
		}
		if d, err := url.QueryUnescape(v); err == nil && d != v {
			out = append(out, d)
		}
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		if u.User != nil {
			if p, has := u.User.Password(); has {
				add(p)
			} else if tokenInUser(u.Scheme) {
				add(u.User.Username())
			}
		}
		for k, vs := range u.Query() {
			if secretKey(k) {
				for _, v := range vs {
					add(v)
				}
			}
		}
	}
	// The raw text too: it finds what a URL that does not parse holds.
	if i := strings.Index(s, "://"); i >= 0 {
		auth := s[i+3:]
		if j := strings.IndexAny(auth, "/?#"); j >= 0 {
			auth = auth[:j]
		}
		if at := strings.LastIndex(auth, "@"); at >= 0 {
			if _, p, ok := strings.Cut(auth[:at], ":"); ok {
				add(p)
			} else if tokenInUser(s[:i]) {
				add(auth[:at])
			}
		}
	}
	for _, m := range kv.FindAllStringSubmatch(s, -1) {
		add(m[4])
	}
	// Longest first, so that a secret inside another is not half hidden.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Scrub returns msg with every secret of bus (see Secrets) replaced by
// Mask: for the text of a client library's error or log line, which may
// quote the URL or the password.
func Scrub(msg, bus string) string {
	return Hide(msg, Secrets(bus))
}

// Hide returns msg with each of secrets (from Secrets, longest first)
// replaced by Mask: Scrub for a caller that hides the same secrets often.
func Hide(msg string, secrets []string) string {
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, Mask)
	}
	return msg
}
