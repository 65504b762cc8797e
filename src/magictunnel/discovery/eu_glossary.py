"""Everyday French, German and Spanish words with their English gloss (see reading.py).

The words people use when they ask for things (show, search, create, send, file, folder, chart,
weather, news, price, meeting, ...) and the little words around them, so that a French, German or
Spanish request can be read word by word in English by the English-only embedding models and the
lexical index. General vocabulary only: nothing names a tool or a server.
Entries are separated by ";": the English gloss, "=", then the words it glosses.
"""

from __future__ import annotations

_GERMAN = """
end = ende; has = hat; have = habe haben; need = brauche brauchen; want = möchte will;
can = kannst können kann; should = soll; please = bitte; show = zeig zeige zeigen anzeigen;
give = gib gibt geben; find = finde finden; search = such suche suchen durchsuche;
get = hol hole holen; read = lies lese lesen; write = schreib schreibe schreiben;
save = speicher speichere speichern; create = erstelle erstell erstellen;
generate = erzeuge erzeugen generiere; make = mach mache machen; delete = lösche lösch löschen;
remove = entferne entfernen; change = ändere ändern; edit = bearbeite bearbeiten;
update = aktualisiere aktualisieren; open = öffne öffnen; close = schließe schließen;
send = sende senden schicke schick schicken; start = starte starten; stop = stoppe beende;
run = führe führ ausführen; out = aus; translate = übersetze übersetzen;
convert = konvertiere konvertieren wandle umwandeln; compare = vergleiche vergleichen;
calculate = berechne berechnen rechne; check = prüfe prüfen überprüfe;
analyze = analysiere analysieren; summarize = fasse; together = zusammen; summary = zusammenfassung;
list = liste listen auflisten; book = buche buchen buch; buy = kaufe kaufen;
order = bestelle bestellen; pay = bezahle bezahlen; load = lade laden; download = herunterladen;
upload = hochladen; share = teile teilen; copy = kopiere kopieren; move = verschiebe verschieben;
rename = benenne; add = füge hinzufügen hinzu; recommend = empfiehl empfehle empfehlen;
explain = erkläre erklären; click = klicke klick; type = tippe; enter = trage;
a = ein eine einen einem einer; the = der die das den dem des; and = und; or = oder; with = mit;
without = ohne; for = für; from = von vom aus; to = zu zum zur nach; in = in im; on = auf;
about = über; under = unter; at = bei; all = alle allen; every = jede; me = mir mich;
my = mein meine meinen meinem meiner; i = ich; you = du; us = uns; our = unsere; how = wie;
what = was; which = welche welcher welches; where = wo; when = wann; why = warum; who = wer;
how much = wieviel; is = ist; are = sind; is there = gibt's; today = heute; tomorrow = morgen;
yesterday = gestern; now = jetzt; current = aktuell aktuellen aktuelle; latest = neueste neuesten;
last = letzte letzten; next = nächste nächsten; week = woche; month = monat; year = jahr;
years = jahre; day = tag; days = tage; hour = stunde; time = uhr uhrzeit zeit; date = datum;
weather = wetter; rain = regen; temperature = temperatur; news = nachrichten neuigkeiten;
headlines = schlagzeilen; article = artikel; page = seite; web page = webseite; web = internet;
file = datei; files = dateien; folder = ordner; directory = verzeichnis; path = pfad;
document = dokument; table = tabelle; image = bild; images = bilder; photo = foto; video = video;
music = musik; song = lied; map = karte; route = route weg; address = adresse; place = ort;
city = stadt; country = land; price = preis kurs; prices = preise; stock = aktie; stocks = aktien;
stock market = börse; currency = währung; money = geld; account = konto; invoice = rechnung;
payment = zahlung; calendar = kalender; appointment = termin; meeting = besprechung; task = aufgabe;
tasks = aufgaben; note = notiz; notes = notizen; email = e-mail; message = nachricht;
user = benutzer; password = passwort; chart = diagramm grafik; bar = balken; column = säule säulen;
line = linie linien; circle = kreis; sale = verkauf verkaufs; report = bericht; numbers = zahlen;
sales = umsatz; data = daten; text = text; language = sprache; translation = übersetzung;
game = spiel; recipe = rezept; movie = film; train = zug; flight = flug; hotel = hotel;
room = zimmer; apartment = wohnung; ticket = fahrkarte ticket; package = paket; version = version;
error = fehler; code = code; command = befehl; process = prozess
"""
_FRENCH = """
have = ai ont; want = veux voudrais; can = peux peut pouvez; need = faut besoin; thanks = merci;
show = montre montrez; display = affiche affichez afficher; give = donne donnez donner;
find = trouve trouvez trouver; search = cherche cherchez chercher recherche rechercher;
get = récupère récupérer obtiens obtenir; read = lis lisez lire; write = écris écrivez écrire;
save = enregistre enregistrer sauvegarde sauvegarder; create = crée créez créer;
generate = génère générer; make = fais faites faire;
delete = supprime supprimez supprimer efface effacer; remove = enlève retire;
edit = modifie modifier; change = change changer; put = mets mettre; open = ouvre ouvrir;
close = ferme fermer; send = envoie envoyez envoyer; start = lance lancer démarre démarrer;
stop = arrête arrêter; run = exécute exécuter; translate = traduis traduire;
convert = convertis convertir; compare = compare comparer; calculate = calcule calculer;
check = vérifie vérifier; analyze = analyse analyser; summarize = résume résumer; summary = résumé;
list = liste lister; book = réserve réserver livre; buy = achète acheter; order = commande commander;
pay = paie payer; download = télécharge télécharger; share = partage partager; copy = copie copier;
move = déplace déplacer; rename = renomme; add = ajoute ajouter;
recommend = recommande recommander conseille; explain = explique expliquer; click = clique cliquer;
type = tape; enter = saisis; a = un une; the = le la les l' des; of the = du; of = de d'; and = et;
or = ou; with = avec; without = sans; for = pour; by = par; in = dans en; on = sur; under = sous;
at = chez; all = tous toutes tout; every = chaque; me = moi me; my = mon ma mes; i = je j';
you = tu vous; us = nous; our = notre nos; how = comment; what = quoi que qu';
which = quel quelle quels quelles; where = où; when = quand; why = pourquoi; who = qui;
how much = combien; is = est; are = sont; today = aujourd'hui; tomorrow = demain; yesterday = hier;
now = maintenant; current = actuel actuelle actuels; latest = dernier dernière derniers dernières;
next = prochain prochaine; week = semaine; weekend = week-end; month = mois; year = an année;
years = ans; day = jour; days = jours; time = heure; hours = heures; weather = temps météo;
rain = pluie; temperature = température; date = date; news = nouvelles actualités actualité infos;
headlines = titres; article = article; articles = articles; page = page; website = site; web = web;
file = fichier; files = fichiers; folder = dossier; directory = répertoire; path = chemin;
document = document; table = tableau; image = image; images = images; photo = photo; video = vidéo;
music = musique; song = chanson; map = carte; route = itinéraire trajet; address = adresse;
place = lieu; city = ville; country = pays; price = prix cours; stock = action; stocks = actions;
stock market = bourse; currency = devise; money = argent; account = compte; invoice = facture;
payment = paiement; calendar = calendrier; appointment = rendez-vous; meeting = réunion;
task = tâche; tasks = tâches; note = note; notes = notes; email = courriel e-mail mail;
message = message; user = utilisateur; password = mot passe; chart = graphique diagramme;
histogram = histogramme; pie chart = camembert; bar = barres; line chart = courbe; report = rapport;
figures = chiffres; sales = ventes; data = données; text = texte; language = langue;
translation = traduction; game = jeu; recipe = recette; movie = film; train = train; station = gare;
flight = vol; hotel = hôtel; room = chambre; lodging = logement; ticket = billet; package = paquet;
version = version; error = erreur; code = code; command = commande
"""
_SPANISH = """
has = tiene; have = tienen tengo; is = está es; are = están son; want = quiero; need = necesito;
can = puedes puede; show = muestra muestre mostrar enseña; show me = muéstrame enséñame;
give me = dame; give = da dar; find = encuentra encontrar; find me = encuéntrame;
search = busca buscar; search me = búscame; get = obtén obtener consigue; read = lee leer;
write = escribe escribir; save = guarda guardar; create = crea crear; create me = créame;
generate = genera generar; make = haz hacer; make me = hazme; delete = elimina eliminar borra borrar;
remove = quita quitar; edit = modifica modificar edita editar; change = cambia cambiar;
put = pon poner; open = abre abrir; close = cierra cerrar; send = envía enviar manda mandar;
send me = envíame; start = inicia iniciar arranca; stop = detén detener; for = para por;
run = ejecuta ejecutar; translate = traduce traducir; convert = convierte convertir;
compare = compara comparar; calculate = calcula calcular;
check = comprueba comprobar verifica verificar; analyze = analiza analizar;
summarize = resume resumir; summary = resumen; list = lista listar; book = reserva reservar libro;
buy = compra comprar; order = pide pedir; pay = paga pagar; download = descarga descargar;
upload = sube subir; share = comparte compartir; copy = copia copiar; move = mueve mover;
rename = renombra; add = añade añadir agrega agregar; recommend = recomienda recomendar;
recommend me = recomiéndame; explain = explica explicar; click = haz pulsa; type = escribe;
a = un una; the = el la los las lo; of the = del; to the = al; of = de; and = y; or = o; with = con;
without = sin; in = en; about = sobre; under = bajo; all = todos todas todo; every = cada;
me = me mí; my = mi mis; i = yo; you = tú; us = nosotros; our = nuestro nuestra; how = cómo como;
what = qué que; which = cuál cuáles; where = dónde donde; when = cuándo cuando; who = quién;
how much = cuánto cuánta; how many = cuántos cuántas; there is = hay; today = hoy; tomorrow = mañana;
yesterday = ayer; now = ahora; current = actual actuales; latest = último última últimos últimas;
next = próximo próxima; week = semana; end = fin; month = mes; year = año; years = años; day = día;
days = días; time = hora; hours = horas; weather = tiempo clima; rain = lluvia;
temperature = temperatura; date = fecha; news = noticias; headlines = titulares; article = artículo;
articles = artículos; page = página; website = sitio; web = web internet; file = archivo fichero;
files = archivos; folder = carpeta; directory = directorio; path = ruta; document = documento;
table = tabla; image = imagen; images = imágenes; photo = foto; video = vídeo video; music = música;
song = canción; map = mapa; address = dirección; place = lugar; city = ciudad; country = país;
price = precio cotización; prices = precios; stock = acción; stocks = acciones; stock market = bolsa;
currency = moneda; money = dinero; account = cuenta; invoice = factura; payment = pago;
calendar = calendario; appointment = cita; meeting = reunión; task = tarea; tasks = tareas;
note = nota; notes = notas; email = correo; message = mensaje; user = usuario; password = contraseña;
chart = gráfico gráfica diagrama; bar = barras; pie = circular; report = informe; figures = cifras;
sales = ventas; data = datos; text = texto; language = idioma; translation = traducción;
game = juego; recipe = receta; movie = película; train = tren; station = estación; flight = vuelo;
hotel = hotel; room = habitación; ticket = billete boleto; package = paquete; version = versión;
error = error; code = código; command = comando
"""


def _table(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in text.replace("\n", " ").split(";"):
        gloss, _, words = entry.partition(" = ")
        for word in words.split():
            out.setdefault(word.casefold(), gloss.strip())
    return out


GLOSSES: dict[str, dict[str, str]] = {
    "de": _table(_GERMAN),
    "fr": _table(_FRENCH),
    "es": _table(_SPANISH),
}
