package cli

import (
	"image"
	"image/color"
	"strconv"
	"strings"
)

// demoScene is what the demo endpoint's screen shows at one moment. It is
// a plain value so that two moments that look alike compare alike (see
// key), and the screen is drawn again only when something changed.
type demoScene struct {
	Clock  string
	User   string
	Locked bool
	// App is the focused application: files, sheet, browser, mail,
	// terminal, viewer, or "" for the bare desktop.
	App      string
	Title    string
	Location string
	Sidebar  []string
	SideSel  int
	Header   []string
	Rows     [][]string
	Sel      int
	Lines    []string
	Dialog   *demoDialog
	Toast    string
	Cursor   image.Point
	Heading  string
	Progress int
}

// demoDialog is a modal dialog with an optional progress bar (Progress
// below 0 has none).
type demoDialog struct {
	Title    string
	Text     string
	Progress int
}

// The demo desktop's palette: calm, low-contrast chrome with readable text.
var (
	colWallTop   = color.RGBA{R: 36, G: 62, B: 80, A: 255}
	colWallBot   = color.RGBA{R: 58, G: 98, B: 112, A: 255}
	colBar       = color.RGBA{R: 22, G: 24, B: 28, A: 255}
	colBarText   = color.RGBA{R: 226, G: 228, B: 232, A: 255}
	colTitle     = color.RGBA{R: 48, G: 52, B: 58, A: 255}
	colTitleText = color.RGBA{R: 236, G: 238, B: 240, A: 255}
	colBody      = color.RGBA{R: 250, G: 250, B: 248, A: 255}
	colSide      = color.RGBA{R: 236, G: 237, B: 239, A: 255}
	colText      = color.RGBA{R: 40, G: 42, B: 46, A: 255}
	colMuted     = color.RGBA{R: 120, G: 124, B: 130, A: 255}
	colLine      = color.RGBA{R: 218, G: 220, B: 224, A: 255}
	colAccent    = color.RGBA{R: 53, G: 120, B: 212, A: 255}
	colAccentBg  = color.RGBA{R: 214, G: 228, B: 248, A: 255}
	colWhite     = color.RGBA{R: 255, G: 255, B: 255, A: 255}
	colShadow    = color.RGBA{R: 20, G: 30, B: 38, A: 255}
	colTermBg    = color.RGBA{R: 30, G: 32, B: 36, A: 255}
	colTermText  = color.RGBA{R: 210, G: 214, B: 218, A: 255}
	colTermGreen = color.RGBA{R: 128, G: 200, B: 120, A: 255}
	colClose     = color.RGBA{R: 214, G: 92, B: 80, A: 255}
	colButton    = color.RGBA{R: 92, G: 96, B: 104, A: 255}
	colFolder    = color.RGBA{R: 232, G: 176, B: 72, A: 255}
	colDoc       = color.RGBA{R: 96, G: 160, B: 104, A: 255}
	colCell      = color.RGBA{R: 244, G: 245, B: 247, A: 255}
	colToast     = color.RGBA{R: 44, G: 48, B: 54, A: 255}
)

// Text scale and line height of the demo desktop.
const (
	textScale  = 2
	lineHeight = 22
	charW      = glyphAdvance * textScale
)

// drawDemoScene draws sc on a new w by h image.
func drawDemoScene(sc demoScene, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	// Wallpaper: a vertical gradient.
	for y := range h {
		f := float64(y) / float64(h)
		c := color.RGBA{R: mix(colWallTop.R, colWallBot.R, f), G: mix(colWallTop.G, colWallBot.G, f), B: mix(colWallTop.B, colWallBot.B, f), A: 255}
		fillRect(img, image.Rect(0, y, w, y+1), c)
	}
	// Top bar: activities, clock, user.
	fillRect(img, image.Rect(0, 0, w, 30), colBar)
	drawText(img, image.Pt(14, 7), "Activities", textScale, colBarText)
	drawText(img, image.Pt((w-textWidth(sc.Clock, textScale))/2, 7), sc.Clock, textScale, colBarText)
	drawText(img, image.Pt(w-14-textWidth(sc.User, textScale), 7), sc.User, textScale, colBarText)
	if sc.Locked {
		fillRect(img, image.Rect(0, 30, w, h), color.RGBA{R: 18, G: 22, B: 28, A: 255})
		drawText(img, image.Pt((w-textWidth(sc.Clock, 5))/2, h/2-80), sc.Clock, 5, colBarText)
		msg := sc.User + " - locked"
		drawText(img, image.Pt((w-textWidth(msg, textScale))/2, h/2+10), msg, textScale, colMuted)
		return img
	}
	drawDock(img, sc.App, h)
	if sc.App != "" {
		drawWindow(img, sc, image.Rect(110, 54, w-50, h-36))
	}
	if sc.Dialog != nil {
		drawDialog(img, *sc.Dialog, w, h)
	}
	if sc.Toast != "" {
		tw := textWidth(sc.Toast, textScale) + 40
		r := image.Rect((w-tw)/2, 40, (w+tw)/2, 82)
		fillRect(img, r, colToast)
		drawText(img, image.Pt(r.Min.X+20, r.Min.Y+13), sc.Toast, textScale, colBarText)
	}
	drawCursor(img, sc.Cursor)
	return img
}

func mix(a, b uint8, f float64) uint8 { return uint8(float64(a) + (float64(b)-float64(a))*f) }

// drawDock draws the application launcher on the left, the focused
// application's entry highlighted.
func drawDock(img *image.RGBA, app string, h int) {
	fillRect(img, image.Rect(0, 30, 72, h), color.RGBA{R: 28, G: 32, B: 38, A: 255})
	apps := []struct{ id, letter string }{{"files", "F"}, {"sheet", "S"}, {"browser", "W"}, {"mail", "M"}, {"terminal", ">"}, {"viewer", "D"}}
	for i, a := range apps {
		r := image.Rect(14, 50+i*62, 58, 94+i*62)
		bg := color.RGBA{R: 70, G: 76, B: 86, A: 255}
		if a.id == app {
			bg = colAccent
			fillRect(img, image.Rect(2, r.Min.Y+12, 6, r.Max.Y-12), colBarText)
		}
		fillRect(img, r, bg)
		drawText(img, image.Pt(r.Min.X+16, r.Min.Y+14), a.letter, textScale, colWhite)
	}
}

// drawWindow draws the focused application's window in r.
func drawWindow(img *image.RGBA, sc demoScene, r image.Rectangle) {
	fillRect(img, r.Add(image.Pt(6, 6)), colShadow)
	fillRect(img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+36), colTitle)
	title := clipText(sc.Title, r.Dx()-160, textScale)
	drawText(img, image.Pt(r.Min.X+(r.Dx()-textWidth(title, textScale))/2, r.Min.Y+11), title, textScale, colTitleText)
	for i, c := range []color.RGBA{colButton, colButton, colClose} {
		x := r.Max.X - 86 + i*28
		fillRect(img, image.Rect(x, r.Min.Y+11, x+14, r.Min.Y+25), c)
	}
	body := image.Rect(r.Min.X, r.Min.Y+36, r.Max.X, r.Max.Y)
	switch sc.App {
	case "terminal":
		fillRect(img, body, colTermBg)
		drawTerminal(img, sc, body.Inset(14))
		return
	default:
		fillRect(img, body, colBody)
	}
	switch sc.App {
	case "files":
		drawFiles(img, sc, body)
	case "sheet":
		drawSheet(img, sc, body)
	case "browser":
		drawBrowser(img, sc, body)
	case "mail":
		drawMail(img, sc, body)
	case "viewer":
		drawViewer(img, sc, body)
	}
}

// drawLocation draws a path or address bar.
func drawLocation(img *image.RGBA, r image.Rectangle, text string) {
	fillRect(img, r, colLine)
	fillRect(img, r.Inset(2), colWhite)
	drawText(img, image.Pt(r.Min.X+10, r.Min.Y+(r.Dy()-16)/2), clipText(text, r.Dx()-20, textScale), textScale, colText)
}

func drawFiles(img *image.RGBA, sc demoScene, body image.Rectangle) {
	drawLocation(img, image.Rect(body.Min.X+230, body.Min.Y+10, body.Max.X-14, body.Min.Y+44), sc.Location)
	side := image.Rect(body.Min.X, body.Min.Y, body.Min.X+216, body.Max.Y)
	fillRect(img, side, colSide)
	for i, s := range sc.Sidebar {
		y := side.Min.Y + 16 + i*34
		if i == sc.SideSel {
			fillRect(img, image.Rect(side.Min.X+8, y-6, side.Max.X-8, y+24), colAccentBg)
		}
		fillRect(img, image.Rect(side.Min.X+18, y+2, side.Min.X+32, y+14), colFolder)
		drawText(img, image.Pt(side.Min.X+42, y), clipText(s, 160, textScale), textScale, colText)
	}
	list := image.Rect(side.Max.X+14, body.Min.Y+58, body.Max.X-14, body.Max.Y-10)
	cols := []int{0, list.Dx() - 330, list.Dx() - 200}
	for i, hd := range []string{"Name", "Size", "Modified"} {
		drawText(img, image.Pt(list.Min.X+cols[i]+30, list.Min.Y), hd, textScale, colMuted)
	}
	fillRect(img, image.Rect(list.Min.X, list.Min.Y+24, list.Max.X, list.Min.Y+26), colLine)
	for i, row := range sc.Rows {
		y := list.Min.Y + 34 + i*32
		if y+30 > list.Max.Y {
			break
		}
		fg := colText
		if i == sc.Sel {
			fillRect(img, image.Rect(list.Min.X, y-6, list.Max.X, y+24), colAccent)
			fg = colWhite
		}
		icon := colDoc
		if len(row) > 1 && row[1] == "" {
			icon = colFolder
		}
		fillRect(img, image.Rect(list.Min.X+6, y, list.Min.X+20, y+16), icon)
		for j, cell := range row {
			if j < len(cols) {
				width := list.Dx() - cols[j] - 30
				if j+1 < len(cols) {
					width = cols[j+1] - cols[j] - 40
				}
				drawText(img, image.Pt(list.Min.X+cols[j]+30, y), clipText(cell, width, textScale), textScale, fg)
			}
		}
	}
}

func drawSheet(img *image.RGBA, sc demoScene, body image.Rectangle) {
	drawLocation(img, image.Rect(body.Min.X+14, body.Min.Y+10, body.Max.X-14, body.Min.Y+44), sc.Location)
	grid := image.Rect(body.Min.X+14, body.Min.Y+56, body.Max.X-14, body.Max.Y-10)
	colW := []int{48, 300, 220, 200, 200}
	rowH := 30
	x := grid.Min.X
	for c, cw := range colW {
		fillRect(img, image.Rect(x, grid.Min.Y, x+cw, grid.Min.Y+rowH), colSide)
		if c > 0 {
			drawText(img, image.Pt(x+8, grid.Min.Y+7), string(rune('A'+c-1)), textScale, colMuted)
		}
		x += cw
	}
	rows := append([][]string{sc.Header}, sc.Rows...)
	for i, row := range rows {
		y := grid.Min.Y + rowH*(i+1)
		if y+rowH > grid.Max.Y {
			break
		}
		fillRect(img, image.Rect(grid.Min.X, y, grid.Min.X+colW[0], y+rowH), colSide)
		drawText(img, image.Pt(grid.Min.X+8, y+7), strconv.Itoa(i+1), textScale, colMuted)
		x := grid.Min.X + colW[0]
		bg := colWhite
		switch {
		case i == 0:
			bg = colCell
		case sc.Sel > 0 && i <= sc.Sel:
			bg = colAccentBg
		}
		for c := 1; c < len(colW); c++ {
			fillRect(img, image.Rect(x, y, x+colW[c], y+rowH), colLine)
			fillRect(img, image.Rect(x+1, y+1, x+colW[c], y+rowH), bg)
			if c-1 < len(row) {
				drawText(img, image.Pt(x+8, y+7), clipText(row[c-1], colW[c]-12, textScale), textScale, colText)
			}
			x += colW[c]
		}
	}
}

func drawBrowser(img *image.RGBA, sc demoScene, body image.Rectangle) {
	fillRect(img, image.Rect(body.Min.X, body.Min.Y, body.Max.X, body.Min.Y+54), colSide)
	drawLocation(img, image.Rect(body.Min.X+90, body.Min.Y+10, body.Max.X-14, body.Min.Y+44), sc.Location)
	drawText(img, image.Pt(body.Min.X+16, body.Min.Y+19), "< >", textScale, colMuted)
	page := image.Rect(body.Min.X+60, body.Min.Y+80, body.Max.X-60, body.Max.Y-20)
	if sc.Heading != "" {
		drawText(img, page.Min, clipText(sc.Heading, page.Dx(), 3), 3, colText)
	}
	y := page.Min.Y + 46
	for _, l := range sc.Lines {
		drawText(img, image.Pt(page.Min.X, y), clipText(l, page.Dx(), textScale), textScale, colMuted)
		y += lineHeight + 4
	}
	y += 8
	for i, row := range sc.Rows {
		if y+64 > page.Max.Y {
			break
		}
		card := image.Rect(page.Min.X, y, page.Max.X, y+60)
		border := colLine
		if i == sc.Sel {
			border = colAccent
		}
		fillRect(img, card, border)
		fillRect(img, card.Inset(2), colWhite)
		if len(row) > 0 {
			drawText(img, image.Pt(card.Min.X+16, card.Min.Y+10), clipText(row[0], card.Dx()-32, textScale), textScale, colAccent)
		}
		if len(row) > 1 {
			drawText(img, image.Pt(card.Min.X+16, card.Min.Y+34), clipText(row[1], card.Dx()-32, textScale), textScale, colMuted)
		}
		y += 72
	}
	if sc.Progress > 0 {
		bar := image.Rect(page.Min.X, page.Max.Y-30, page.Max.X, page.Max.Y-18)
		fillRect(img, bar, colLine)
		fillRect(img, image.Rect(bar.Min.X, bar.Min.Y, bar.Min.X+bar.Dx()*min(sc.Progress, 100)/100, bar.Max.Y), colAccent)
	}
}

func drawMail(img *image.RGBA, sc demoScene, body image.Rectangle) {
	y := body.Min.Y + 18
	for _, row := range sc.Rows {
		if len(row) < 2 {
			continue
		}
		drawText(img, image.Pt(body.Min.X+24, y+8), row[0], textScale, colMuted)
		field := image.Rect(body.Min.X+150, y, body.Max.X-24, y+34)
		drawLocation(img, field, row[1])
		y += 46
	}
	fillRect(img, image.Rect(body.Min.X+24, y+4, body.Max.X-24, y+6), colLine)
	y += 22
	for _, l := range sc.Lines {
		drawText(img, image.Pt(body.Min.X+24, y), clipText(l, body.Dx()-48, textScale), textScale, colText)
		y += lineHeight + 2
	}
	send := image.Rect(body.Min.X+24, body.Max.Y-56, body.Min.X+144, body.Max.Y-20)
	fillRect(img, send, colAccent)
	drawText(img, image.Pt(send.Min.X+36, send.Min.Y+10), "Send", textScale, colWhite)
}

func drawViewer(img *image.RGBA, sc demoScene, body image.Rectangle) {
	fillRect(img, body, color.RGBA{R: 120, G: 124, B: 130, A: 255})
	page := image.Rect(body.Min.X+(body.Dx()-440)/2, body.Min.Y+20, body.Min.X+(body.Dx()+440)/2, body.Max.Y)
	fillRect(img, page, colWhite)
	drawText(img, image.Pt(page.Min.X+30, page.Min.Y+30), clipText(sc.Heading, page.Dx()-60, textScale), textScale, colText)
	for i := range 14 {
		y := page.Min.Y + 70 + i*24
		w := page.Dx() - 60 - (i%3)*50
		fillRect(img, image.Rect(page.Min.X+30, y, page.Min.X+30+w, y+8), colLine)
	}
}

func drawTerminal(img *image.RGBA, sc demoScene, r image.Rectangle) {
	maxLines := r.Dy() / lineHeight
	lines := sc.Lines
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	for i, l := range lines {
		y := r.Min.Y + i*lineHeight
		x := r.Min.X
		if user, rest, ok := strings.Cut(l, "$ "); ok && strings.Contains(user, "@") {
			x = drawText(img, image.Pt(x, y), user+"$ ", textScale, colTermGreen)
			l = rest
		}
		x = drawText(img, image.Pt(x, y), clipText(l, r.Max.X-x, textScale), textScale, colTermText)
		if i == len(lines)-1 {
			fillRect(img, image.Rect(x+2, y, x+charW, y+16), colTermText)
		}
	}
}

func drawDialog(img *image.RGBA, d demoDialog, w, h int) {
	r := image.Rect((w-620)/2, (h-170)/2, (w+620)/2, (h+170)/2)
	fillRect(img, r.Add(image.Pt(6, 6)), colShadow)
	fillRect(img, r, colBody)
	fillRect(img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+36), colTitle)
	drawText(img, image.Pt(r.Min.X+16, r.Min.Y+11), clipText(d.Title, r.Dx()-32, textScale), textScale, colTitleText)
	drawText(img, image.Pt(r.Min.X+24, r.Min.Y+62), clipText(d.Text, r.Dx()-48, textScale), textScale, colText)
	if d.Progress >= 0 {
		bar := image.Rect(r.Min.X+24, r.Min.Y+104, r.Max.X-24, r.Min.Y+120)
		fillRect(img, bar, colLine)
		fillRect(img, image.Rect(bar.Min.X, bar.Min.Y, bar.Min.X+bar.Dx()*min(d.Progress, 100)/100, bar.Max.Y), colAccent)
		pct := strconv.Itoa(min(d.Progress, 100)) + "%"
		drawText(img, image.Pt(r.Max.X-24-textWidth(pct, textScale), r.Min.Y+132), pct, textScale, colMuted)
	}
}

// demoCursor is the mouse pointer: 'o' outline, '#' fill.
var demoCursor = []string{
	"o",
	"oo",
	"o#o",
	"o##o",
	"o###o",
	"o####o",
	"o#####o",
	"o######o",
	"o#######o",
	"o####ooooo",
	"o##o##o",
	"o#o o##o",
	"oo  o##o",
	"     o##o",
	"     oooo",
}

func drawCursor(img *image.RGBA, p image.Point) {
	if p == (image.Point{}) {
		return
	}
	for y, row := range demoCursor {
		for x, c := range row {
			var col color.RGBA
			switch c {
			case 'o':
				col = color.RGBA{A: 255}
			case '#':
				col = colWhite
			default:
				continue
			}
			fillRect(img, image.Rect(p.X+x*2, p.Y+y*2, p.X+x*2+2, p.Y+y*2+2), col)
		}
	}
}
