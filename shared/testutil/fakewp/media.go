package fakewp

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"image"
	_ "image/gif" // image.DecodeConfig for uploads
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
)

// uploadMedia is POST /wp/v2/media: WP_REST_Attachments_Controller's
// create_item with upload_from_data (raw body) or upload_from_file
// (multipart), then wp_handle_sideload's file type check.
func (s *Site) uploadMedia(w http.ResponseWriter, req *apiRequest) {
	if !req.canEdit {
		wpError(w, req.authCode(), "rest_cannot_create", "Sorry, you are not allowed to create posts as this user.")
		return
	}
	r := req.r
	var data []byte
	var filename string
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		if err := r.ParseMultipartForm(maxUploadBytes); err != nil {
			wpError(w, http.StatusBadRequest, "rest_upload_no_data", "No data supplied.")
			return
		}
		f, hdr, err := r.FormFile("file")
		if err != nil {
			wpError(w, http.StatusBadRequest, "rest_upload_no_data", "No data supplied.")
			return
		}
		data, _ = io.ReadAll(f)
		f.Close()
		filename = hdr.Filename
	} else {
		var err error
		data, err = io.ReadAll(io.LimitReader(r.Body, maxUploadBytes))
		if err != nil {
			wpError(w, http.StatusBadRequest, "rest_upload_no_data", "No data supplied.")
			return
		}
		switch {
		case len(data) == 0:
			wpError(w, http.StatusBadRequest, "rest_upload_no_data", "No data supplied.")
			return
		case r.Header.Get("Content-Type") == "":
			wpError(w, http.StatusBadRequest, "rest_upload_no_content_type", "No Content-Type supplied.")
			return
		case len(r.Header.Values("Content-Disposition")) == 0:
			wpError(w, http.StatusBadRequest, "rest_upload_no_content_disposition", "No Content-Disposition supplied.")
			return
		}
		filename = filenameFromDisposition(r.Header.Values("Content-Disposition"))
		if filename == "" {
			wpError(w, http.StatusBadRequest, "rest_upload_invalid_disposition",
				"Invalid Content-Disposition supplied. Content-Disposition needs to be formatted as `attachment; filename=\"image.png\"` or similar.")
			return
		}
	}
	if want := strings.TrimSpace(r.Header.Get("Content-MD5")); want != "" {
		sum := md5.Sum(data)
		if want != hex.EncodeToString(sum[:]) {
			wpError(w, http.StatusPreconditionFailed, "rest_upload_hash_mismatch", "Content hash did not match expected.")
			return
		}
	}
	filename, mimeType, ok := checkFileType(path.Base(filename), data)
	if !ok {
		wpError(w, http.StatusInternalServerError, "rest_upload_sideload_error", "Sorry, you are not allowed to upload this file type.")
		return
	}
	// Query or form parameters can set the attachment's fields.
	p := map[string]any{}
	for k, v := range r.URL.Query() {
		setFormValue(p, k, v)
	}
	errs := paramErrors{}
	title, _ := paramRaw(p, "title", errs)
	caption, _ := paramRaw(p, "caption", errs)
	description, _ := paramRaw(p, "description", errs)
	alt, _ := paramString(p, "alt_text", errs)
	parent, _ := paramInt(p, "post", errs)
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	width, height := 0, 0
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil {
		width, height = cfg.Width, cfg.Height
	}
	fields := parseFields(r.URL.Query())

	s.mu.Lock()
	now := s.now()
	rec := &record{typ: attachmentType, status: "inherit", author: 1, mime: mimeType, data: data, width: width, height: height,
		alt: alt, excerpt: caption, content: description, parent: parent,
		dateGMT: now, date: s.local(now), modifiedGMT: now, modified: s.local(now)}
	dir := rec.date.Format("2006/01")
	rec.fileName = s.uniqueFileName(dir, sanitizeFileName(filename))
	rec.file = dir + "/" + rec.fileName
	rec.title = cmpOr(title, strings.TrimSuffix(rec.fileName, path.Ext(rec.fileName)))
	s.fixSlug(rec)
	s.insert(rec)
	s.modelled = true
	s.creates[attachmentType]++
	body := fields.filter(s.postJSON(req, rec, mediaType, "edit"))
	s.mu.Unlock()
	w.Header().Set("Location", fmt.Sprintf("%s/wp-json/wp/v2/media/%d", req.base, rec.id))
	writeJSON(w, http.StatusCreated, body)
}

// filenameFromDisposition is get_filename_from_disposition: the last
// header value with a filename= attribute (filename* is not read), unquoted.
func filenameFromDisposition(values []string) string {
	filename := ""
	for _, v := range values {
		v = strings.TrimSpace(v)
		_, attrs, ok := strings.Cut(v, ";")
		if !ok {
			continue
		}
		found := ""
		for part := range strings.SplitSeq(attrs, ";") {
			k, val, ok := strings.Cut(part, "=")
			if ok && strings.TrimSpace(k) == "filename" {
				found = strings.TrimSpace(val)
			}
		}
		if found == "" {
			continue
		}
		if len(found) >= 2 && strings.HasPrefix(found, `"`) && strings.HasSuffix(found, `"`) {
			found = found[1 : len(found)-1]
		}
		filename = found
	}
	return filename
}

// checkFileType is wp_check_filetype_and_ext: the type comes from the
// extension (the request's Content-Type is not used); an image's bytes must
// be an image, and when they are another image type the extension is
// corrected.
func checkFileType(filename string, data []byte) (string, string, bool) {
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(filename), "."))
	typ, ok := mimeByExt[ext]
	if !ok {
		return filename, "", false
	}
	if !strings.HasPrefix(typ, "image/") || typ == "image/avif" || typ == "image/heic" || typ == "image/x-icon" {
		return filename, typ, true
	}
	sniffed := http.DetectContentType(data)
	if !strings.HasPrefix(sniffed, "image/") {
		return filename, "", false
	}
	if sniffed != typ {
		newExt, known := imageExtByMime[sniffed]
		if !known {
			return filename, "", false
		}
		filename = strings.TrimSuffix(filename, path.Ext(filename)) + "." + newExt
		typ = sniffed
	}
	return filename, typ, true
}

// updateMedia is POST /wp/v2/media/<id>: title, caption, description,
// alt_text, post.
func (s *Site) updateMedia(w http.ResponseWriter, req *apiRequest, id int64) {
	p, ok, msg := req.readParams()
	if !ok {
		invalidJSON(w, msg)
		return
	}
	errs := paramErrors{}
	title, hasTitle := paramRaw(p, "title", errs)
	caption, hasCaption := paramRaw(p, "caption", errs)
	description, hasDesc := paramRaw(p, "description", errs)
	alt, hasAlt := paramString(p, "alt_text", errs)
	parent, hasParent := paramInt(p, "post", errs)
	slug, hasSlug := paramString(p, "slug", errs)
	if len(errs) > 0 {
		errs.write(w)
		return
	}
	fields := parseFields(req.r.URL.Query())
	s.mu.Lock()
	cur, found := s.records[id]
	if !found || cur.typ != attachmentType {
		s.mu.Unlock()
		wpError(w, http.StatusNotFound, "rest_post_invalid_id", "Invalid post ID.")
		return
	}
	r := cur.clone()
	if hasTitle {
		r.title = title
	}
	if hasCaption {
		r.excerpt = caption
	}
	if hasDesc {
		r.content = description
	}
	if hasAlt {
		r.alt = alt
	}
	if hasParent {
		r.parent = parent
	}
	if hasSlug {
		r.slug = slug
		s.fixSlug(r)
	}
	now := s.now()
	r.modifiedGMT, r.modified = now, s.local(now)
	s.insert(r)
	body := fields.filter(s.postJSON(req, r, mediaType, "edit"))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}
