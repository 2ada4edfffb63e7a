package agenda

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/oneonone/oneonone/internal/errs"
)

// Templates are data, one JSON file per language; every language has the
// same template and topic ids, so a template applied in one language is
// the same template in another (and applying it twice in either adds its
// topics once).
//
//go:embed templates/*.json
var templateFiles embed.FS

// DefaultLang is the language used when a template is asked for in one
// that does not exist.
const DefaultLang = "en"

// Template is a set of talking points to start an agenda with.
type Template struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Topics      []TemplateTopic `json:"topics"`
}

// TemplateTopic is one talking point of a template.
type TemplateTopic struct {
	ID   string `json:"id"`
	Tag  Tag    `json:"tag"`
	Text string `json:"text"`
}

// Templates holds the templates of every language.
type Templates struct {
	byLang map[string][]Template
}

type templateFile struct {
	Lang      string     `json:"lang"`
	Templates []Template `json:"templates"`
}

// LoadTemplates reads the embedded templates and checks them: known tags,
// valid text, and the same ids in every language.
func LoadTemplates() (*Templates, error) {
	t, err := loadTemplates(templateFiles, "templates")
	if err != nil {
		return nil, fmt.Errorf("agenda: templates: %w", err)
	}
	return t, nil
}

func loadTemplates(fsys fs.FS, dir string) (*Templates, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	t := &Templates{byLang: map[string][]Template{}}
	for _, e := range entries {
		lang, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		var f templateFile
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		if f.Lang != lang {
			return nil, fmt.Errorf("%s: lang %q does not match the file name", e.Name(), f.Lang)
		}
		for _, tp := range f.Templates {
			if err := validID("id", tp.ID); err != nil || tp.Name == "" || len(tp.Topics) == 0 {
				return nil, fmt.Errorf("%s: template %q needs an id, a name and topics", e.Name(), tp.ID)
			}
			for _, top := range tp.Topics {
				if err := validID("id", top.ID); err != nil {
					return nil, fmt.Errorf("%s: template %s: topic %q: %w", e.Name(), tp.ID, top.ID, err)
				}
				if err := validTag("tag", top.Tag); err != nil {
					return nil, fmt.Errorf("%s: template %s: topic %s: %w", e.Name(), tp.ID, top.ID, err)
				}
				if err := validText("text", top.Text, MaxShortText, true); err != nil {
					return nil, fmt.Errorf("%s: template %s: topic %s: %w", e.Name(), tp.ID, top.ID, err)
				}
			}
		}
		t.byLang[lang] = f.Templates
	}
	def, ok := t.byLang[DefaultLang]
	if !ok {
		return nil, fmt.Errorf("no %s.json", DefaultLang)
	}
	for lang, tps := range t.byLang {
		if !slices.Equal(templateIDs(tps), templateIDs(def)) {
			return nil, fmt.Errorf("%s.json: template and topic ids %v differ from %s.json's %v",
				lang, templateIDs(tps), DefaultLang, templateIDs(def))
		}
	}
	return t, nil
}

// templateIDs lists "template/topic" ids in order.
func templateIDs(tps []Template) []string {
	var ids []string
	for _, tp := range tps {
		for _, top := range tp.Topics {
			ids = append(ids, tp.ID+"/"+top.ID)
		}
	}
	return ids
}

// Langs returns the languages templates exist in, sorted.
func (t *Templates) Langs() []string {
	var out []string
	for l := range t.byLang {
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// List returns the templates in lang (DefaultLang when there are none in it).
func (t *Templates) List(lang string) []Template {
	if tps, ok := t.byLang[lang]; ok {
		return tps
	}
	return t.byLang[DefaultLang]
}

// Get returns one template in lang (falling back to DefaultLang) or an
// *errs.Invalid on "template".
func (t *Templates) Get(id, lang string) (Template, error) {
	for _, tp := range t.List(lang) {
		if tp.ID == id {
			return tp, nil
		}
	}
	return Template{}, errs.Invalidf("template", "%q is not a template", truncate(id))
}

// Templates returns the service's templates (for pages listing them).
func (s *Service) Templates() *Templates { return s.tpl }

// ApplyTemplate adds the talking points of a template, in lang, to
// occurrence key as topics by actor. Each topic is an operation with an id
// derived from the template and topic ids, so applying the same template
// again (in any language, or after a failure half-way) adds nothing twice.
// Template topics are not counted in the agenda metrics: they measure what
// people prepare.
func (s *Service) ApplyTemplate(ctx context.Context, actor Actor, seriesID, key, templateID, lang string) ([]Result, error) {
	tp, err := s.tpl.Get(templateID, lang)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(tp.Topics))
	for _, top := range tp.Topics {
		op := Op{ID: "tpl." + tp.ID + "." + top.ID, Kind: OpAdd,
			Add: &NewItem{Kind: KindTopic, Text: top.Text, Tag: top.Tag}}
		res, err := s.apply(ctx, actor, seriesID, key, op, false)
		if err != nil {
			return out, err
		}
		out = append(out, res)
	}
	return out, nil
}
