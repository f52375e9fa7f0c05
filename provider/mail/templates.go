package mail

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	texttemplate "text/template"
)

// Templates are the messages: for each name, mail/<name>.txt (a text/template
// defining "subject" and the body) and mail/<name>.html (an html/template
// defining "content", placed in mail/layout.html), parsed once.
type Templates struct {
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

// ParseTemplates parses every message under mail/ in fsys.
func ParseTemplates(fsys fs.FS) (*Templates, error) {
	names, err := fs.Glob(fsys, "mail/*.txt")
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("mail: no templates under mail/")
	}
	t := &Templates{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	for _, path := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(path, "mail/"), ".txt")
		tt, err := texttemplate.New(name+".txt").Option("missingkey=error").ParseFS(fsys, path)
		if err != nil {
			return nil, fmt.Errorf("mail: template %s: %w", path, err)
		}
		if tt.Lookup("subject") == nil {
			return nil, fmt.Errorf("mail: template %s defines no subject", path)
		}
		ht, err := htmltemplate.New("layout.html").Option("missingkey=error").ParseFS(fsys, "mail/layout.html", "mail/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("mail: template %s: %w", name, err)
		}
		t.text[name], t.html[name] = tt, ht
	}
	return t, nil
}

// Render makes the message name from data (To left empty).
func (t *Templates) Render(name string, data any) (Message, error) {
	tt, ok := t.text[name]
	if !ok {
		return Message{}, fmt.Errorf("mail: no template %q", name)
	}
	var subject, text, html bytes.Buffer
	if err := tt.ExecuteTemplate(&subject, "subject", data); err != nil {
		return Message{}, fmt.Errorf("mail: %s subject: %w", name, err)
	}
	if err := tt.Execute(&text, data); err != nil {
		return Message{}, fmt.Errorf("mail: %s text: %w", name, err)
	}
	if err := t.html[name].Execute(&html, data); err != nil {
		return Message{}, fmt.Errorf("mail: %s html: %w", name, err)
	}
	return Message{
		Subject: strings.Join(strings.Fields(subject.String()), " "),
		Text:    strings.TrimSpace(text.String()) + "\n",
		HTML:    html.String(),
	}, nil
}

// Has reports whether there is a template called name.
func (t *Templates) Has(name string) bool { _, ok := t.text[name]; return ok }
