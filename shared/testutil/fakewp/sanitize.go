package fakewp

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	tagPattern    = regexp.MustCompile(`<[^>]*>`)
	entityPattern = regexp.MustCompile(`&.+?;`)
	escapePattern = regexp.MustCompile(`^%[a-fA-F0-9]{2}$`)
	notSlugChars  = regexp.MustCompile(`[^%a-z0-9 _-]`)
	spaces        = regexp.MustCompile(`\s+`)
	dashes        = regexp.MustCompile(`-+`)
)

// accents is a small part of remove_accents: enough for common Latin text.
var accents = strings.NewReplacer(
	"à", "a", "á", "a", "â", "a", "ã", "a", "ä", "a", "å", "a", "æ", "ae", "ç", "c",
	"è", "e", "é", "e", "ê", "e", "ë", "e", "ì", "i", "í", "i", "î", "i", "ï", "i",
	"ñ", "n", "ò", "o", "ó", "o", "ô", "o", "õ", "o", "ö", "o", "ø", "o", "ù", "u",
	"ú", "u", "û", "u", "ü", "u", "ý", "y", "ÿ", "y", "ß", "ss", "œ", "oe",
	"À", "A", "Á", "A", "Â", "A", "Ã", "A", "Ä", "A", "Å", "A", "Æ", "AE", "Ç", "C",
	"È", "E", "É", "E", "Ê", "E", "Ë", "E", "Ì", "I", "Í", "I", "Î", "I", "Ï", "I",
	"Ñ", "N", "Ò", "O", "Ó", "O", "Ô", "O", "Õ", "O", "Ö", "O", "Ø", "O", "Ù", "U",
	"Ú", "U", "Û", "U", "Ü", "U", "Ý", "Y", "Œ", "OE",
	// sanitize_title_with_dashes's 'save' context: dashes and spaces.
	"–", "-", "—", "-", "\u00a0", "-",
	// …and punctuation it drops.
	"‘", "", "’", "", "“", "", "”", "", "«", "", "»", "", "¡", "", "¿", "", "…", "",
)

// sanitizeTitle is sanitize_title (remove_accents, then
// sanitize_title_with_dashes in the 'save' context), close enough for
// tests: lower case, tags and entities removed, dots and spaces to dashes,
// other non-ASCII bytes percent-encoded.
func sanitizeTitle(title string) string {
	s := tagPattern.ReplaceAllString(title, "")
	s = accents.Replace(s)
	// Keep escaped octets, drop other percent signs.
	var kept strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 < len(s) && escapePattern.MatchString(s[i:i+3]) {
				kept.WriteString(strings.ToLower(s[i : i+3]))
				i += 2
			}
			continue
		}
		kept.WriteByte(s[i])
	}
	s = kept.String()
	if !isASCII(s) {
		var b strings.Builder
		for _, r := range strings.ToLower(s) {
			if r < utf8.RuneSelf {
				b.WriteRune(r)
				continue
			}
			buf := make([]byte, utf8.UTFMax)
			n := utf8.EncodeRune(buf, r)
			for _, c := range buf[:n] {
				fmt.Fprintf(&b, "%%%02x", c)
			}
		}
		s = b.String()
	}
	s = strings.ToLower(s)
	s = entityPattern.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, ".", "-")
	s = notSlugChars.ReplaceAllString(s, "")
	s = spaces.ReplaceAllString(s, "-")
	s = dashes.ReplaceAllString(s, "-")
	return strings.Trim(s, "-")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

var notFileChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// sanitizeFileName is a simplified sanitize_file_name: spaces to dashes,
// special characters removed.
func sanitizeFileName(name string) string {
	name = spaces.ReplaceAllString(strings.TrimSpace(name), "-")
	name = notFileChars.ReplaceAllString(name, "")
	name = dashes.ReplaceAllString(name, "-")
	name = strings.Trim(name, ".-_")
	if name == "" {
		name = "unnamed-file"
	}
	return name
}

// mimeByExt is part of get_allowed_mime_types: the extensions an
// administrator may upload (without unfiltered_upload).
var mimeByExt = map[string]string{
	"jpg": "image/jpeg", "jpeg": "image/jpeg", "jpe": "image/jpeg", "gif": "image/gif", "png": "image/png",
	"bmp": "image/bmp", "tif": "image/tiff", "tiff": "image/tiff", "webp": "image/webp", "avif": "image/avif",
	"ico": "image/x-icon", "heic": "image/heic",
	"pdf": "application/pdf", "txt": "text/plain", "csv": "text/csv", "doc": "application/msword",
	"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"mp4":  "video/mp4", "mov": "video/quicktime", "mp3": "audio/mpeg", "wav": "audio/wav", "zip": "application/zip",
}

// imageExtByMime is getimagesize_mimes_to_exts.
var imageExtByMime = map[string]string{
	"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/bmp": "bmp", "image/webp": "webp", "image/avif": "avif",
}

// renderContent is a stand-in for the_content filters: a paragraph per
// text block, HTML passed through.
func renderContent(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	if strings.HasPrefix(raw, "<") {
		return raw + "\n"
	}
	return "<p>" + raw + "</p>\n"
}

// autoExcerpt is wp_trim_excerpt: the first 55 words of the content's
// text with " [&hellip;]" when cut, as a paragraph.
func autoExcerpt(content string) string {
	words := strings.Fields(tagPattern.ReplaceAllString(content, " "))
	if len(words) == 0 {
		return ""
	}
	text := strings.Join(words[:min(len(words), 55)], " ")
	if len(words) > 55 {
		text += " [&hellip;]"
	}
	return "<p>" + text + "</p>\n"
}
