package sender

import (
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"github.com/kehu-dev/kehu/shared/store"
)

type emailData struct {
	Kind        string
	Langs       []string
	Action      string // the survey or confirmation link
	Unsubscribe string // the one-click withdrawal of contact
	Privacy     string // the person's privacy page ("" in a confirmation email: the address is not verified)
	Fields      []string
	MaskedEmail string
	MaskedPhone string
	MaskedAdded string // SendAddressAdded: the address being confirmed
	HasPhone    bool
	Expires     string
}

func (d emailData) Confirm() bool { return d.Kind == store.SendConfirm }

func (d emailData) Copy() bool { return d.Kind == SendCopy }

func (d emailData) Erasure() bool { return d.Kind == SendErasure }

func (d emailData) NoPurpose() bool { return d.Kind == SendNoPurpose }

func (d emailData) Added() bool { return d.Kind == SendAddressAdded }

// The copy, per language. Shared by the text and HTML templates.
const body = `{{define "zh"}}{{if .Added}}有人为您的资料添加了另一个邮箱地址 {{.MaskedAdded}}，我们已请该地址确认。
我们会在一天后才请该地址确认；在它确认之前，它不会收到您的任何资料。如果这不是您添加的，请立即联系我们，我们会将其移除。{{else if .NoPurpose}}您已撤回对所有用途的同意。除非您在 {{.Action}} 之前重新同意（在下面的隐私页面选择“更正我的资料”，在问卷中勾选用途），我们将自该日起删除您的资料。
如果这不是您做的，请立即通过该页面重新同意。{{else if .Erasure}}您已要求删除我们保存的您的资料。删除将于 {{.Action}} 执行。
在此之前，您可以在下面的隐私页面取消。如果这不是您要求的，请立即通过该页面取消。{{else if .Copy}}您要求的资料副本已准备好（JSON 与可阅读的网页）：{{.Action}}
链接在 {{.Expires}} 前有效。如果这不是您要求的，请忽略本邮件，并通过下面的隐私页面联系我们。{{else if .Confirm}}请确认这是您的邮箱地址：{{.MaskedEmail}}
我们只会在您确认后，向这个地址发送更新资料的邀请和与您的请求有关的消息（用途：联系）。
确认：{{.Action}}
如果这不是您，请忽略本邮件；不会有任何变化。{{else}}请确认或更正我们保存的您的资料。
我们保存的联系方式：邮箱 {{.MaskedEmail}}{{if .HasPhone}}，电话 {{.MaskedPhone}}{{end}}
我们保存的项目：{{range $i, $f := .Fields}}{{if $i}}、{{end}}{{$f}}{{end}}
用途：回复您的请求、为您提供服务，并保持资料准确（联系用途）。
确认或更正：{{.Action}} （{{.Expires}} 前有效，仅可使用一次）{{end}}
不想再收到此类邮件？一键撤回“联系”同意：{{.Unsubscribe}}{{if .Privacy}}
查看、导出、更正或删除您的资料，管理您的同意：{{.Privacy}}{{end}}{{end}}
{{define "en"}}{{if .Added}}Another email address, {{.MaskedAdded}}, was added to your details and has been asked to confirm it.
We ask it to confirm only a day from now, and it receives nothing of yours before it is confirmed. If you did not add it, contact us now and we will remove it.{{else if .NoPurpose}}You withdrew your consent to every purpose. Unless you give it again before {{.Action}} (on the privacy page below, "Correct my details", then tick the purposes in the survey), we will erase your data from that day on.
If this was not you, give your consent again there now.{{else if .Erasure}}You asked us to erase the data we hold about you. It will be erased on {{.Action}}.
Until then you can cancel it on the privacy page below. If you did not ask for this, cancel it there now.{{else if .Copy}}The copy of your data you asked for is ready (JSON and a readable page): {{.Action}}
The link works until {{.Expires}}. If you did not ask for it, ignore this email and contact us through the privacy page below.{{else if .Confirm}}Please confirm that this is your email address: {{.MaskedEmail}}
Only once you confirm will we send this address invitations to update your details and messages about your requests (purpose: contact).
Confirm: {{.Action}}
If this was not you, ignore this email; nothing will change.{{else}}Please confirm or correct the details we hold about you.
Contact details on file: email {{.MaskedEmail}}{{if .HasPhone}}, phone {{.MaskedPhone}}{{end}}
What we hold: {{range $i, $f := .Fields}}{{if $i}}, {{end}}{{$f}}{{end}}
What for: answering your requests, serving you, and keeping your details accurate (purpose: contact).
Confirm or correct: {{.Action}} (works until {{.Expires}}, once)
{{end}}
No more emails like this? Withdraw your consent to contact in one click: {{.Unsubscribe}}{{if .Privacy}}
See, copy, correct or erase your data, and manage your consent: {{.Privacy}}{{end}}{{end}}`

var (
	textT = texttemplate.Must(texttemplate.New("text").Parse(body +
		`{{define "email"}}{{range $i, $l := .Langs}}{{if $i}}

——

{{end}}{{if eq $l "zh"}}{{template "zh" $}}{{else}}{{template "en" $}}{{end}}{{end}}
{{end}}`))
	htmlT = htmltemplate.Must(htmltemplate.New("html").Parse(`{{define "email"}}<!doctype html>
<html><head><meta charset="utf-8"></head><body>
{{range $i, $l := .Langs}}{{if $i}}<hr>{{end}}<div lang="{{if eq $l "zh"}}zh-CN{{else}}en{{end}}">
{{if eq $l "zh"}}{{if $.Added}}<p>有人为您的资料添加了另一个邮箱地址 {{$.MaskedAdded}}，我们已请该地址确认。</p>
<p>我们会在一天后才请该地址确认；在它确认之前，它不会收到您的任何资料。如果这不是您添加的，请立即联系我们，我们会将其移除。</p>
{{else if $.NoPurpose}}<p>您已撤回对所有用途的同意。除非您在 {{$.Action}} 之前在<a href="{{$.Privacy}}">隐私页面</a>重新同意（“更正我的资料”，在问卷中勾选用途），我们将自该日起删除您的资料。</p>
{{else if $.Erasure}}<p>您已要求删除我们保存的您的资料。删除将于 {{$.Action}} 执行。</p>
<p>在此之前，您可以在<a href="{{$.Privacy}}">隐私页面</a>取消。如果这不是您要求的，请立即取消。</p>
{{else if $.Copy}}<p>您要求的资料副本已准备好：<a href="{{$.Action}}">下载我的资料</a>（{{$.Expires}} 前有效）。</p>
{{else if $.Confirm}}<p>请确认这是您的邮箱地址：{{$.MaskedEmail}}</p>
<p>我们只会在您确认后，向这个地址发送更新资料的邀请和与您的请求有关的消息（用途：联系）。</p>
<p><a href="{{$.Action}}">确认我的邮箱</a></p><p>如果这不是您，请忽略本邮件；不会有任何变化。</p>
{{else}}<p>请确认或更正我们保存的您的资料。</p>
<p>我们保存的联系方式：邮箱 {{$.MaskedEmail}}{{if $.HasPhone}}，电话 {{$.MaskedPhone}}{{end}}</p>
<p>我们保存的项目：{{range $j, $f := $.Fields}}{{if $j}}、{{end}}{{$f}}{{end}}</p>
<p>用途：回复您的请求、为您提供服务，并保持资料准确（联系用途）。</p>
<p><a href="{{$.Action}}">确认或更正我的资料</a>（{{$.Expires}} 前有效，仅可使用一次）</p>{{end}}
<p><small><a href="{{$.Unsubscribe}}">不想再收到此类邮件？一键撤回“联系”同意</a>{{if $.Privacy}} · <a href="{{$.Privacy}}">查看、导出、更正或删除您的资料，管理您的同意</a>{{end}}</small></p>
{{else}}{{if $.Added}}<p>Another email address, {{$.MaskedAdded}}, was added to your details and has been asked to confirm it.</p>
<p>We ask it to confirm only a day from now, and it receives nothing of yours before it is confirmed. If you did not add it, contact us now and we will remove it.</p>
{{else if $.NoPurpose}}<p>You withdrew your consent to every purpose. Unless you give it again before {{$.Action}} on <a href="{{$.Privacy}}">your privacy page</a> ("Correct my details", then tick the purposes in the survey), we will erase your data from that day on.</p>
{{else if $.Erasure}}<p>You asked us to erase the data we hold about you. It will be erased on {{$.Action}}.</p>
<p>Until then you can cancel it on <a href="{{$.Privacy}}">your privacy page</a>. If you did not ask for this, cancel it there now.</p>
{{else if $.Copy}}<p>The copy of your data you asked for is ready: <a href="{{$.Action}}">download my data</a> (works until {{$.Expires}}).</p>
{{else if $.Confirm}}<p>Please confirm that this is your email address: {{$.MaskedEmail}}</p>
<p>Only once you confirm will we send this address invitations to update your details and messages about your requests (purpose: contact).</p>
<p><a href="{{$.Action}}">Confirm my address</a></p><p>If this was not you, ignore this email; nothing will change.</p>
{{else}}<p>Please confirm or correct the details we hold about you.</p>
<p>Contact details on file: email {{$.MaskedEmail}}{{if $.HasPhone}}, phone {{$.MaskedPhone}}{{end}}</p>
<p>What we hold: {{range $j, $f := $.Fields}}{{if $j}}, {{end}}{{$f}}{{end}}</p>
<p>What for: answering your requests, serving you, and keeping your details accurate (purpose: contact).</p>
<p><a href="{{$.Action}}">Confirm or correct my details</a> (works until {{$.Expires}}, once)</p>{{end}}
<p><small><a href="{{$.Unsubscribe}}">No more emails like this? Withdraw your consent to contact in one click</a>{{if $.Privacy}} · <a href="{{$.Privacy}}">See, copy, correct or erase your data, and manage your consent</a>{{end}}</small></p>
{{end}}</div>{{end}}
</body></html>
{{end}}`))
)

func render(d emailData) (text, html, subject string, err error) {
	var t, h strings.Builder
	if err := textT.ExecuteTemplate(&t, "email", d); err != nil {
		return "", "", "", err
	}
	if err := htmlT.ExecuteTemplate(&h, "email", d); err != nil {
		return "", "", "", err
	}
	subjects := map[string][2]string{ // [zh, en]
		store.SendSurvey:  {"请确认您的资料", "Please confirm your details"},
		store.SendConfirm: {"请确认您的邮箱地址", "Please confirm your email address"},
		SendCopy:          {"您的资料副本", "Your copy of your data"},
		SendErasure:       {"您的资料将被删除", "Your data will be erased"},
		SendNoPurpose:     {"您已撤回所有同意", "You withdrew every consent"},
		SendAddressAdded:  {"您的资料中添加了一个邮箱地址", "An email address was added to your details"},
	}[d.Kind]
	var parts []string
	for _, l := range d.Langs {
		if l == "zh" {
			parts = append(parts, subjects[0])
		} else {
			parts = append(parts, subjects[1])
		}
	}
	return t.String(), h.String(), strings.Join(parts, " / "), nil
}
