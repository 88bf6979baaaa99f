package privacy

import (
	"html/template"
	"strings"

	"github.com/kehu-dev/kehu/shared/record"
)

// HTML renders an export as a page a person can read (bilingual headings,
// no script): the same content as the JSON copy. For the person's own copy
// render x.ForSubject(), never the operator's export.
func HTML(x *record.Export) (string, error) {
	var b strings.Builder
	if err := exportPage.Execute(&b, x); err != nil {
		return "", err
	}
	return b.String(), nil
}

func text(v record.Value) string {
	if v.Text != nil {
		return *v.Text
	}
	return "(" + v.Unreadable + ")"
}

var exportPage = template.Must(template.New("export").Funcs(template.FuncMap{"text": text}).Parse(`<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>我们保存的您的资料 · Your data</title>
<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ccc;padding:.3rem;text-align:left;vertical-align:top}</style></head><body>
<h1>我们保存的您的资料 <span lang="en">· What we hold about you</span></h1>
<p>导出时间 · Exported {{.ExportedAt.Format "2006-01-02 15:04 UTC"}} · {{.Format}}{{if .Unreadable}} · 未能读取 · not readable here: {{range .Unreadable}}{{.}} {{end}}{{end}}</p>
{{if .Withheld}}<p>{{.Withheld}}</p>{{end}}
<h2>资料 · Details</h2>
<table><tr><th>项目 · Field</th><th>值 · Value</th><th>来源 · Source</th><th>依据与同意 · Basis and consent</th><th>可信度 · Trust</th><th>收集 · Collected</th><th>确认 · Confirmed</th><th>保密等级 · Tier</th><th>可读者 · Read by</th></tr>
{{range .Record.Fields}}<tr><td>{{.Field}}</td><td>{{text .Value}}</td><td>{{.Channel}} {{.FormID}}</td><td>{{.Basis}} {{.Notice}} {{range .Purposes}}{{.}} {{end}}</td><td>{{.Trust}}</td>
<td>{{.CollectedAt.Format "2006-01-02"}}</td><td>{{.ConfirmedAt.Format "2006-01-02"}}</td><td>{{.Tier}}</td><td>{{.ReadBy}}</td></tr>
{{end}}</table>
<h2>联系方式 · Email, phone and other identifiers</h2>
<table><tr><th>类型 · Kind</th><th>值 · Value</th><th>已验证 · Verified</th><th>来源 · Source</th></tr>
{{range .Record.Identifiers}}<tr><td>{{.Kind}}</td><td>{{text .Value}}</td><td>{{.Verified}}</td><td>{{.Channel}} {{.FormID}} {{.CollectedAt.Format "2006-01-02"}}</td></tr>
{{end}}</table>
<h2>同意 · Consent</h2>
<table><tr><th>用途 · Purpose</th><th>状态 · State</th><th>告知版本 · Notice</th><th>时间 · When</th></tr>
{{range $p, $s := .Record.Consent}}<tr><td>{{$p}}</td><td>{{if $s.Granted}}同意 · granted{{else}}已撤回 · withdrawn{{end}}</td><td>{{$s.Notice}}</td><td>{{$s.At.Format "2006-01-02"}}</td></tr>
{{end}}</table>
<h2>同意记录 · Consent record (every grant and withdrawal)</h2>
<table><tr><th>时间 · When</th><th>类型 · Kind</th><th>渠道 · Channel</th><th>依据 · Basis</th><th>同意 · Granted</th><th>撤回 · Withdrawn</th><th>告知版本 · Notice</th><th>可信度 · Trust</th></tr>
{{range .Record.Ledger}}<tr><td>{{.At.Format "2006-01-02 15:04"}}</td><td>{{.Entity}}</td><td>{{.Channel}} {{.FormID}}</td><td>{{.Basis}}</td>{{if eq .Entity "withdrawal"}}<td></td><td>{{range .Purposes}}{{.}} {{end}}</td>{{else}}<td>{{range .Purposes}}{{.}} {{end}}</td><td>{{range .Withdrawn}}{{.}} {{end}}</td>{{end}}<td>{{.Notice}}</td><td>{{.Trust}}</td></tr>
{{end}}</table>
<h2>沟通记录 · Messages</h2>
<table><tr><th>时间 · When</th><th>渠道 · Channel</th><th>方向 · Direction</th><th>内容 · Text</th></tr>
{{range .Record.Interactions}}<tr><td>{{.At.Format "2006-01-02 15:04"}}</td><td>{{.Source}} ({{.Provider}})</td><td>{{.Direction}}</td><td>{{if .Text}}{{.Text}}{{else}}({{.Unreadable}}){{end}}</td></tr>
{{end}}</table>
<h2>历史 · Every value each field had</h2>
<table><tr><th>项目 · Field</th><th>值 · Value</th><th>渠道 · Channel</th><th>时间 · When</th><th>当前 · Current</th></tr>
{{range .History}}<tr><td>{{.Field}}</td><td>{{text .Value}}</td><td>{{.Channel}}</td><td>{{.At.Format "2006-01-02"}}</td><td>{{.Current}}</td></tr>
{{end}}</table>
<h2>分组 · Segments</h2><p>{{range .Record.Segments}}{{.}} {{end}}</p>
</body></html>
`))
