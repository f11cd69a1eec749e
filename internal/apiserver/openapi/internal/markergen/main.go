// Command markergen writes zz_generated.markers.go of package openapi: the facts about the
// k8s.io/api and k8s.io/apimachinery types that live in Go comments and so are invisible to
// reflection. Upstream's openapi-gen reads them from the same comments:
//
//   - field markers: +optional / +required where they disagree with omitempty, +listType,
//     +listMapKey, +mapType, +structType, +default, +k8s:openapi-gen=false;
//   - type markers: +structType / +mapType on a type;
//   - enums: string types marked +enum with their constants and the constants' comments;
//   - documentation of types that have no SwaggerDoc method (Quantity, Time, IntOrString, ...).
//
// Run it from package openapi with `go generate`; it reads the module sources the main module
// requires (`go list -m`). A test in this directory fails when the committed file is stale.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/build"
	"go/format"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	out := flag.String("o", "zz_generated.markers.go", "output file")
	flag.Parse()
	src, err := generate()
	if err != nil {
		fmt.Fprintln(os.Stderr, "markergen:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "markergen:", err)
		os.Exit(1)
	}
}

// source is a set of packages to read: every package under a module directory, or the listed
// sub-packages only.
type source struct {
	module string
	only   []string // package paths relative to the module; empty means all
}

// runtimeTypes are the only types of k8s.io/apimachinery/pkg/runtime that appear in API objects;
// the rest of that package is machinery.
var runtimeTypes = map[string]bool{"RawExtension": true, "Unknown": true}

var sources = []source{
	{module: "k8s.io/api"},
	{module: "k8s.io/apimachinery", only: []string{
		"pkg/apis/meta/v1", "pkg/api/resource", "pkg/util/intstr", "pkg/runtime", "pkg/version",
	}},
}

// pkg is one parsed Go package.
type pkg struct {
	path  string
	files []*ast.File
	// swaggerDoc holds the types that have a SwaggerDoc method.
	swaggerDoc map[string]bool
	// consts maps constant names to their string values.
	consts map[string]string
}

type fieldOut struct {
	Required    int8
	Skip        bool
	ListType    string
	ListMapKeys []string
	MapType     string
	Default     string
}

type typeOut struct {
	MapType string
	Unions  string
	Doc     string
	HasDoc  bool
	Fields  map[string]*fieldOut
	Docs    map[string]string
}

type enumValue struct {
	name, value, comment string
}

func generate() ([]byte, error) {
	var pkgs []*pkg
	for _, s := range sources {
		dir, err := moduleDir(s.module)
		if err != nil {
			return nil, err
		}
		dirs := s.only
		if len(dirs) == 0 {
			dirs, err = packageDirs(dir)
			if err != nil {
				return nil, err
			}
		}
		for _, d := range dirs {
			p, err := parsePackage(path.Join(s.module, filepath.ToSlash(d)), filepath.Join(dir, d))
			if err != nil {
				return nil, err
			}
			if p != nil {
				pkgs = append(pkgs, p)
			}
		}
	}

	types := map[string]*typeOut{}
	enumTypes := map[string]bool{}
	for _, p := range pkgs {
		collectTypes(p, types, enumTypes)
	}
	enums := map[string][]enumValue{}
	for _, p := range pkgs {
		collectEnumValues(p, enumTypes, enums)
	}
	return render(types, enums)
}

func moduleDir(module string) (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w", module, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func packageDirs(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if p != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		dirs = append(dirs, rel)
		return nil
	})
	sort.Strings(dirs)
	return dirs, err
}

func parsePackage(importPath, dir string) (*pkg, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	p := &pkg{path: importPath, swaggerDoc: map[string]bool{}, consts: map[string]string{}}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		if ok, err := build.Default.MatchFile(dir, name); err != nil || !ok {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		if f.Name.Name == "main" {
			return nil, nil
		}
		p.files = append(p.files, f)
	}
	if len(p.files) == 0 {
		return nil, nil
	}
	for _, f := range p.files {
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil && d.Name.Name == "SwaggerDoc" && len(d.Recv.List) == 1 {
					p.swaggerDoc[receiverName(d.Recv.List[0].Type)] = true
				}
			case *ast.GenDecl:
				if d.Tok != token.CONST {
					continue
				}
				for _, spec := range d.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if v, ok := stringLit(vs.Values[i]); ok {
								p.consts[n.Name] = v
							}
						}
					}
				}
			}
		}
	}
	return p, nil
}

func receiverName(e ast.Expr) string {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// stringLit returns the value of "x" or T("x").
func stringLit(e ast.Expr) (string, bool) {
	if c, ok := e.(*ast.CallExpr); ok && len(c.Args) == 1 {
		e = c.Args[0]
	}
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	v, err := strconv.Unquote(lit.Value)
	return v, err == nil
}

func commentLines(cg *ast.CommentGroup) []string {
	if cg == nil {
		return nil
	}
	return strings.Split(strings.TrimRight(cg.Text(), "\n"), "\n")
}

// tags extracts "+key=value" markers like gengo.ExtractCommentTags("+", lines).
func tags(lines []string) map[string][]string {
	out := map[string][]string{}
	for _, l := range lines {
		l = strings.Trim(l, " ")
		if !strings.HasPrefix(l, "+") {
			continue
		}
		kv := strings.SplitN(l[1:], "=", 2)
		if len(kv) == 2 {
			out[kv[0]] = append(out[kv[0]], kv[1])
		} else {
			out[kv[0]] = append(out[kv[0]], "")
		}
	}
	return out
}

func first(m map[string][]string, k string) string {
	if v := m[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func collectTypes(p *pkg, types map[string]*typeOut, enumTypes map[string]bool) {
	for _, f := range p.files {
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				if p.path == "k8s.io/apimachinery/pkg/runtime" && !runtimeTypes[ts.Name.Name] {
					continue
				}
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				lines := commentLines(doc)
				t := tags(lines)
				key := p.path + "." + ts.Name.Name
				if id, ok := ts.Type.(*ast.Ident); ok && id.Name == "string" {
					if _, ok := t["enum"]; ok {
						enumTypes[key] = true
					}
				}
				out := &typeOut{Fields: map[string]*fieldOut{}, Docs: map[string]string{}}
				out.MapType = first(t, "structType")
				if out.MapType == "" {
					out.MapType = first(t, "mapType")
				}
				if st, ok := ts.Type.(*ast.StructType); ok {
					if !p.swaggerDoc[ts.Name.Name] && ast.IsExported(ts.Name.Name) {
						out.HasDoc = true
						out.Doc = description(lines)
					}
					collectFields(p, st, out)
					out.Unions = unions(t, st)
				}
				if out.MapType != "" || out.Unions != "" || out.HasDoc || len(out.Fields) > 0 || len(out.Docs) > 0 {
					types[key] = out
				}
			}
		}
	}
}

func collectFields(p *pkg, st *ast.StructType, out *typeOut) {
	for _, field := range st.Fields.List {
		var tag reflect.StructTag
		if field.Tag != nil {
			if s, err := strconv.Unquote(field.Tag.Value); err == nil {
				tag = reflect.StructTag(s)
			}
		}
		jsonTag, hasJSON := tag.Lookup("json")
		parts := strings.Split(jsonTag, ",")
		if len(field.Names) == 0 && hasJSON && parts[0] == "" {
			continue // inlined: the embedded type carries its own markers
		}
		var name string
		switch {
		case parts[0] == "-":
			continue
		case parts[0] != "":
			name = parts[0]
		case len(field.Names) > 0:
			name = field.Names[0].Name
		default:
			name = embeddedName(field.Type)
		}
		if len(field.Names) > 0 && !ast.IsExported(field.Names[0].Name) {
			continue
		}
		lines := commentLines(field.Doc)
		if out.HasDoc {
			if d := description(lines); d != "" {
				out.Docs[name] = d
			}
		}
		t := tags(lines)
		fo := &fieldOut{}
		omitempty := false
		for _, o := range parts[1:] {
			if o == "omitempty" || o == "omitzero" {
				omitempty = true
			}
		}
		_, optional := t["optional"]
		_, required := t["required"]
		switch {
		case required && omitempty:
			fo.Required = 1
		case optional && !required && !omitempty:
			fo.Required = -1
		}
		for _, v := range t["k8s:openapi-gen"] {
			if v == "false" {
				fo.Skip = true
			}
		}
		fo.ListType = first(t, "listType")
		fo.ListMapKeys = t["listMapKey"]
		fo.MapType = first(t, "mapType")
		if fo.MapType == "" {
			fo.MapType = first(t, "structType")
		}
		if d := first(t, "default"); d != "" {
			fo.Default = defaultJSON(p, d)
		}
		if fo.Required != 0 || fo.Skip || fo.ListType != "" || len(fo.ListMapKeys) > 0 || fo.MapType != "" || fo.Default != "" {
			out.Fields[name] = fo
		}
	}
}

// unions computes x-kubernetes-unions like openapi-gen's parseUnionStruct and
// parseUnionMembers (unions of inlined members are not followed), as JSON.
func unions(typeTags map[string][]string, st *ast.StructType) string {
	type union struct {
		Discriminator string            `json:"discriminator,omitempty"`
		Fields        map[string]string `json:"fields-to-discriminateBy"`
	}
	var list []union
	_, isUnion := typeTags["union"]
	structUnion := union{Fields: map[string]string{}}
	memberUnion := union{Fields: map[string]string{}}
	for _, field := range st.Fields.List {
		if len(field.Names) == 0 {
			continue
		}
		tag := ""
		if field.Tag != nil {
			tag, _ = strconv.Unquote(field.Tag.Value)
		}
		name, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = field.Names[0].Name
		}
		t := tags(commentLines(field.Doc))
		_, disc := t["unionDiscriminator"]
		_, deprecated := t["unionDeprecated"]
		if isUnion {
			if disc {
				structUnion.Discriminator = name
			} else if !deprecated {
				structUnion.Fields[name] = field.Names[0].Name
			}
		}
		if disc {
			memberUnion.Discriminator = name
		}
		if deprecated {
			memberUnion.Fields[name] = field.Names[0].Name
		}
	}
	if isUnion {
		list = append(list, structUnion)
	}
	if len(memberUnion.Fields) > 0 {
		list = append(list, memberUnion)
	}
	if len(list) == 0 {
		return ""
	}
	b, _ := json.Marshal(list)
	return string(b)
}

func embeddedName(e ast.Expr) string {
	switch t := e.(type) {
	case *ast.StarExpr:
		return embeddedName(t.X)
	case *ast.SelectorExpr:
		return t.Sel.Name
	case *ast.Ident:
		return t.Name
	}
	return ""
}

var refRE = regexp.MustCompile(`^ref\(([^"]+)\)$`)

// defaultJSON turns a +default value into JSON; ref(Const) names a string constant.
func defaultJSON(p *pkg, v string) string {
	if m := refRE.FindStringSubmatch(v); m != nil {
		if s, ok := p.consts[m[1]]; ok {
			b, _ := json.Marshal(s)
			return string(b)
		}
		return ""
	}
	var x any
	if err := json.Unmarshal([]byte(v), &x); err != nil {
		return ""
	}
	b, _ := json.Marshal(x)
	return string(b)
}

func collectEnumValues(p *pkg, enumTypes map[string]bool, enums map[string][]enumValue) {
	for _, f := range p.files {
		imports := map[string]string{}
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			name := path.Base(ip)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			imports[name] = ip
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				var typeKey string
				switch t := vs.Type.(type) {
				case *ast.Ident:
					typeKey = p.path + "." + t.Name
				case *ast.SelectorExpr:
					if x, ok := t.X.(*ast.Ident); ok {
						typeKey = imports[x.Name] + "." + t.Sel.Name
					}
				}
				if !enumTypes[typeKey] {
					continue
				}
				doc := vs.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					v, ok := stringLit(vs.Values[i])
					if !ok {
						id, isIdent := vs.Values[i].(*ast.Ident)
						if !isIdent {
							continue
						}
						if v, ok = p.consts[id.Name]; !ok {
							continue
						}
					}
					enums[typeKey] = addEnumValue(enums[typeKey], enumValue{
						name: n.Name, value: v, comment: strings.Join(commentLines(doc), " "),
					})
				}
			}
		}
	}
}

// addEnumValue keeps one entry per value, preferring the longer comment like openapi-gen.
func addEnumValue(vals []enumValue, v enumValue) []enumValue {
	for i, e := range vals {
		if e.value == v.value {
			if len(e.comment) < len(v.comment) || (len(e.comment) == len(v.comment) && e.comment > v.comment) {
				vals[i] = v
			}
			return vals
		}
	}
	return append(vals, v)
}

var spaces = regexp.MustCompile(`\s+`)

// enumDescription is the paragraph openapi-gen appends to an enum field's description.
func enumDescription(vals []enumValue) string {
	lines := make([]string, 0, len(vals))
	for _, v := range vals {
		c := strings.TrimSpace(v.comment)
		c = strings.TrimSpace(strings.TrimPrefix(c, v.name))
		c = spaces.ReplaceAllString(c, " ")
		lines = append(lines, strings.TrimRight(fmt.Sprintf(" - `%q` %s", v.value, c), " "))
	}
	sort.Strings(lines)
	return "Possible enum values:\n" + strings.Join(lines, "\n")
}

// description formats comment lines like openapi-gen's generateDescription.
func description(lines []string) string {
	var b bytes.Buffer
	delPrev := func() {
		if b.Len() > 0 {
			b.Truncate(b.Len() - 1)
		}
	}
	for _, line := range lines {
		if line == "---" {
			break
		}
		line = strings.TrimRight(line, " ")
		leading := strings.TrimLeft(line, " ")
		switch {
		case len(line) == 0:
			delPrev()
			b.WriteString("\n\n")
		case strings.HasPrefix(leading, "TODO"):
		case strings.HasPrefix(leading, "+"):
		default:
			if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
				delPrev()
				line = "\n" + line + "\n"
			} else {
				line += " "
			}
			b.WriteString(line)
		}
	}
	return strings.TrimSpace(b.String())
}

func render(types map[string]*typeOut, enums map[string][]enumValue) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("// Code generated by internal/markergen; DO NOT EDIT.\n\n")
	b.WriteString("package openapi\n\n")
	b.WriteString("// generatedTypes holds the comment markers of the k8s.io/api and apimachinery types,\n")
	b.WriteString("// keyed by \"<package path>.<type name>\".\n")
	b.WriteString("var generatedTypes = map[string]*typeMarkers{\n")
	for _, k := range sortedKeys(types) {
		t := types[k]
		fmt.Fprintf(&b, "%q: {", k)
		if t.MapType != "" {
			fmt.Fprintf(&b, "mapType: %q,", t.MapType)
		}
		if t.Unions != "" {
			fmt.Fprintf(&b, "unionsJSON: %q,", t.Unions)
		}
		if t.HasDoc {
			fmt.Fprintf(&b, "hasDoc: true, doc: %q,", t.Doc)
		}
		if len(t.Docs) > 0 {
			b.WriteString("docs: map[string]string{\n")
			for _, f := range sortedKeys(t.Docs) {
				fmt.Fprintf(&b, "%q: %q,\n", f, t.Docs[f])
			}
			b.WriteString("},")
		}
		if len(t.Fields) > 0 {
			b.WriteString("fields: map[string]*fieldMarkers{\n")
			for _, f := range sortedKeys(t.Fields) {
				fo := t.Fields[f]
				fmt.Fprintf(&b, "%q: {", f)
				if fo.Required != 0 {
					fmt.Fprintf(&b, "required: %d,", fo.Required)
				}
				if fo.Skip {
					b.WriteString("skip: true,")
				}
				if fo.ListType != "" {
					fmt.Fprintf(&b, "listType: %q,", fo.ListType)
				}
				if len(fo.ListMapKeys) > 0 {
					fmt.Fprintf(&b, "listMapKeys: %#v,", fo.ListMapKeys)
				}
				if fo.MapType != "" {
					fmt.Fprintf(&b, "mapType: %q,", fo.MapType)
				}
				if fo.Default != "" {
					fmt.Fprintf(&b, "defaultJSON: %q,", fo.Default)
				}
				b.WriteString("},\n")
			}
			b.WriteString("},")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n\n")

	b.WriteString("// generatedEnums holds the string types marked +enum, keyed like generatedTypes.\n")
	b.WriteString("var generatedEnums = map[string]*enumType{\n")
	for _, k := range sortedKeys(enums) {
		vals := enums[k]
		if len(vals) == 0 {
			continue
		}
		values := make([]string, len(vals))
		for i, v := range vals {
			values[i] = v.value
		}
		sort.Strings(values)
		fmt.Fprintf(&b, "%q: {values: %#v, description: %q},\n", k, values, enumDescription(vals))
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
